"""The administration record page: what was given (from the pump segments charted), its lot, and the review of
given versus ordered."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from services.documentation import commands as c
from services.documentation.access import IN_SESSION, service
from services.documentation.domain.administration import AdministrationRecord
from services.documentation.ui.forms import EXTRA_RATE_ROWS, PAUSE_ROWS, FormInvalid, administration_body, submit
from services.documentation.ui.pages import (
    clinician, input_time, number_text, own_session, page, post_form, redrawn, ui,
)
from shared.smart import requires


def administration_page(view: dict[str, Any], status: int = 200, errors: list[tuple[str, str]] | None = None,
                        values: Any = None) -> tuple[str, int]:
    recorded = view.get("administration")
    given = AdministrationRecord.from_dict(recorded) if recorded else None
    if values is None:
        values = (_recorded_values(view, recorded, input_time) if recorded
                  else _charted_values(view, input_time, EXTRA_RATE_ROWS, PAUSE_ROWS))
    return page("documentation/administration.html", status, errors=errors, values=values, session=view,
                given=given, extra_rate_rows=range(1, EXTRA_RATE_ROWS + 1), pause_rows=range(PAUSE_ROWS),
                can_record=view["status"] in ("recovering", "aborted") and view["summary"]["infusion_started_at"])


@ui.get("/ui/sessions/<session_id>/administration")
@requires("MedicationAdministration", "r", **IN_SESSION)
def administration_form(session_id: str) -> ResponseReturnValue:
    return administration_page(own_session(session_id))


@ui.post("/ui/sessions/<session_id>/administration")
@requires("MedicationAdministration", "cu", **IN_SESSION)
def record_administration(session_id: str) -> ResponseReturnValue:
    def again(view: dict[str, Any], error: FormInvalid) -> ResponseReturnValue:
        """The starting rate's time is the start's field on the form."""
        issues = [("started_at" if field == "rate_changes[0].at" else field, message)
                  for field, message in error.issues]
        return administration_page(view, error.status, issues, request.form)

    return post_form(session_id, lambda form: submit(
        lambda body: service().record_administration(session_id, body), c.RecordAdministration,
        administration_body(form, clinician())), again, ".administration_form", "administration", "review")


@ui.post("/ui/sessions/<session_id>/administration/review")
@requires("MedicationAdministration", "u", **IN_SESSION)
def review_administration(session_id: str) -> ResponseReturnValue:
    return post_form(session_id, lambda form: submit(
        lambda body: service().review_administration(session_id, body), c.ReviewAdministration,
        {"by": clinician(), "at": form.time("at"), "comment": form.text("comment")}),
        redrawn(administration_page), ".session_page", "administration-reviewed", "next-step", prefix="review")


# --- the form's starting values ---------------------------------------------------------------------------------------
def _recorded_values(view: dict[str, Any], recorded: dict[str, Any] | None,
                     input_time: Callable[[Any], str]) -> dict[str, str]:
    """The form's starting values: the record to correct, or the session's own start/end and the ordered rate."""
    if recorded:
        values = {"started_at": input_time(recorded["started_at"]), "stopped_at": input_time(recorded["stopped_at"]),
                  "lot_number": recorded["lot_number"], "lot_expiry": recorded["lot_expiry"],
                  "dose_discrepancy_reason": recorded["dose_discrepancy_reason"]}
        for name in ("concentration_mg_per_ml", "entered_total_ml", "entered_total_mg"):
            values[name] = "" if recorded[name] is None else number_text(recorded[name])
        for index, change in enumerate(recorded["rate_changes"]):
            values[f"rate_changes[{index}].rate_ml_per_h"] = number_text(change["rate_ml_per_h"])
            if index:
                values[f"rate_changes[{index}].at"] = input_time(change["at"])
        for index, pause in enumerate(recorded["pauses"]):
            values[f"pauses[{index}].paused_at"] = input_time(pause["paused_at"])
            values[f"pauses[{index}].resumed_at"] = input_time(pause["resumed_at"])
            values[f"pauses[{index}].reason"] = pause["reason"]
        return values
    infusion_end = next((t["at"] for t in view["transitions"] if t["from_status"] == "infusing"), None)
    return {"started_at": input_time(view["summary"]["infusion_started_at"]), "stopped_at": input_time(infusion_end),
            "rate_changes[0].rate_ml_per_h": number_text(view["order"]["rate_ml_per_h"])}


def _charted_values(view: dict[str, Any], input_time: Any, extra_rate_rows: int, pause_rows: int) -> dict[str, str]:
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
