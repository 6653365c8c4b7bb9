"""The controlled-substance page: drawn, given and wasted for the infusion's product and lot, the waste witnessed
by a second person chosen from the EHR's practitioners."""
from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from services.documentation import commands as c
from services.documentation.access import IN_SESSION, service
from services.documentation.ehr_reads import practitioner_options
from services.documentation.ui.forms import Form, controlled_substance_body, submit
from services.documentation.ui.pages import clinician, own_session, page, post_form, redrawn, ui
from shared.smart import requires
from shared.ui import ehr_as_clinician, fhir_user_reference, launch_context


def controlled_substance_page(view: dict[str, Any], status: int = 200,
                              errors: list[tuple[str, str]] | None = None, values: Any = None) -> tuple[str, int]:
    context = launch_context()
    signed_in = fhir_user_reference(context.fhir_user) if context.fhir_user else ""
    return page("documentation/controlled_substance.html", status, errors=errors, session=view,
                values=values if values is not None else controlled_substance_values(view),
                practitioners=practitioner_options(ehr_as_clinician(context), signed_in),
                can_record=view["status"] in ("recovering", "discharged", "aborted")
                and bool(view["summary"]["infusion_started_at"]))


@ui.get("/ui/sessions/<session_id>/controlled-substance")
@requires("MedicationAdministration", "r", **IN_SESSION)
def controlled_substance_form(session_id: str) -> ResponseReturnValue:
    return controlled_substance_page(own_session(session_id))


@ui.post("/ui/sessions/<session_id>/controlled-substance")
@requires("MedicationAdministration", "cu", **IN_SESSION)
def record_controlled_substance(session_id: str) -> ResponseReturnValue:
    def run(form: Form) -> None:
        submit(lambda body: service().record_controlled_substance(session_id, body), c.RecordControlledSubstance,
               controlled_substance_body(form, clinician()))

    return post_form(session_id, run, redrawn(controlled_substance_page), ".session_page", "controlled-substance",
                     "controlled-substance")


def controlled_substance_values(view: dict[str, Any]) -> dict[str, str]:
    """Starting values: the recorded record, or the administration record's lot and computed dose given."""
    recorded = view.get("controlled_substance")
    if recorded:
        witness = recorded["witness"]
        return {"product": recorded["product"], "product_code": recorded["product_code"],
                "lot_number": recorded["lot_number"], "lot_expiry": recorded["lot_expiry"],
                "drawn_mg": f"{recorded['drawn_mg']:g}", "given_mg": f"{recorded['given_mg']:g}",
                "wasted_mg": f"{recorded['wasted_mg']:g}", "waste_method": recorded["waste_method"],
                "witness.reference": witness["reference"]}
    values: dict[str, str] = {}
    administration, given = view.get("administration"), view.get("given")
    if administration:
        values.update(lot_number=administration["lot_number"], lot_expiry=administration["lot_expiry"])
    if given:
        values["given_mg"] = f"{given['total_mg']:g}"
    order = view.get("order") or {}
    if order.get("product_display"):
        values.update(product=order["product_display"], product_code=order.get("product_code") or "")
    return values
