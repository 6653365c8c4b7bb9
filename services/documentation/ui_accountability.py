"""The pages' accountability parts (issue 13): the coded alert action (new rate, rescue medication), the
administration form started from the chart, the discharge instructions and escort, the follow-up call and the
controlled-substance record with its witness chosen from the EHR — read from the posted form into the API's
request fields. Kept apart from ``ui`` so that module stays about the pages' routes."""
from __future__ import annotations

from typing import Any

from services.documentation.domain.follow_up import FollowUpOutcome
from services.documentation.domain.rescue import RescueDoseUnit, RescueRoute
from services.documentation.ui_forms import Form

RESCUE_ROUTES = [(route.value, route.value.capitalize()) for route in RescueRoute]
RESCUE_UNITS = [(RescueDoseUnit.MILLIGRAM.value, "mg"), (RescueDoseUnit.MICROGRAM.value, "micrograms")]
FOLLOW_UP_OUTCOMES = [
    (FollowUpOutcome.REACHED_WELL.value, "Reached, no concerns"),
    (FollowUpOutcome.REACHED_CONCERNS.value, "Reached, concerns (say what was done)"),
    (FollowUpOutcome.NOT_REACHED.value, "Not reached (say what was done)"),
]


def alert_action_body(form: Form, by: str) -> dict[str, Any]:
    """The action with its new rate (rate reduced) or its medication (medication given)."""
    body: dict[str, Any] = {"by": by, "at": form.time("at"), "kind": form.text("kind"), "detail": form.text("detail"),
                            "rate_ml_per_h": form.optional("rate_ml_per_h")}
    if form.text("kind") == "medication-given" or form.text("rescue.name"):
        body["rescue"] = {"name": form.text("rescue.name"), "dose_value": form.optional("rescue.dose_value"),
                          "dose_unit": form.text("rescue.dose_unit"), "route": form.text("rescue.route")}
    return body


def charted_values(view: dict[str, Any], input_time: Any, extra_rate_rows: int, pause_rows: int) -> dict[str, str]:
    """The administration form's starting values from the chart: the ordered rate from the start, then every
    charted rate change and pause (issue 13 defect 19: never one prefilled rate when the chart says otherwise)."""
    charted = view.get("charted_pump") or {}
    changes = charted.get("rate_changes") or []
    start_rate = changes[0]["rate_ml_per_h"] if changes else view["order"]["rate_ml_per_h"]
    values = {"started_at": input_time(view["summary"]["infusion_started_at"]),
              "stopped_at": input_time(charted.get("stopped_at")), "rate_changes[0].rate_ml_per_h": f"{start_rate:g}"}
    for index, change in enumerate(changes[1:extra_rate_rows + 1], start=1):
        values[f"rate_changes[{index}].at"] = input_time(change["at"])
        values[f"rate_changes[{index}].rate_ml_per_h"] = f"{change['rate_ml_per_h']:g}"
    for index, pause in enumerate((charted.get("pauses") or [])[:pause_rows]):
        values[f"pauses[{index}].paused_at"] = input_time(pause["paused_at"])
        values[f"pauses[{index}].resumed_at"] = input_time(pause["resumed_at"])
        values[f"pauses[{index}].reason"] = pause["reason"]
    return values


def discharge_extras(form: Form) -> dict[str, Any]:
    return {"escort_name": form.text("escort_name"), "escort_relationship": form.text("escort_relationship"),
            "instructions_acknowledged": form.checked("instructions_acknowledged")}


def controlled_substance_body(form: Form, by: str, by_reference: str) -> dict[str, Any]:
    """The witness is the Practitioner chosen from the EHR's list, or an identifier typed in."""
    return {"by": by, "by_reference": by_reference, "at": form.time("at"), "product": form.text("product"),
            "product_code": form.text("product_code"), "lot_number": form.text("lot_number"),
            "lot_expiry": form.day("lot_expiry"), "drawn_mg": form.optional("drawn_mg"),
            "given_mg": form.optional("given_mg"), "wasted_mg": form.optional("wasted_mg"),
            "waste_method": form.text("waste_method"),
            "witness": {"reference": form.text("witness.reference"),
                        "identifier_system": form.text("witness.identifier_system"),
                        "identifier_value": form.text("witness.identifier_value"),
                        "display": form.text("witness.display")}}


def controlled_substance_values(view: dict[str, Any]) -> dict[str, str]:
    """Starting values: the recorded record, or the administration record's lot and computed dose given."""
    recorded = view.get("controlled_substance")
    if recorded:
        witness = recorded["witness"]
        return {"product": recorded["product"], "product_code": recorded["product_code"],
                "lot_number": recorded["lot_number"], "lot_expiry": recorded["lot_expiry"],
                "drawn_mg": f"{recorded['drawn_mg']:g}", "given_mg": f"{recorded['given_mg']:g}",
                "wasted_mg": f"{recorded['wasted_mg']:g}", "waste_method": recorded["waste_method"],
                "witness.reference": witness["reference"], "witness.identifier_system": witness["identifier_system"],
                "witness.identifier_value": witness["identifier_value"], "witness.display": witness["display"]}
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
