"""The discharge page: the criteria (Aldrete, escort, instructions, the safety plan when the day's suicide risk was
above low), an override of those that allow one, and the next day's follow-up call."""
from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from services.documentation import commands as c
from services.documentation.access import IN_SESSION, service
from services.documentation.domain.discharge import ALDRETE_ITEM_MAX_SCORE, ALDRETE_ITEMS
from services.documentation.domain.follow_up import FollowUpOutcome
from services.documentation.ui.forms import Form, FormInvalid, discharge_extras, submit
from services.documentation.ui.pages import clinician, own_session, page, post_form, redrawn, ui
from shared.smart import requires

FOLLOW_UP_OUTCOMES = [
    (FollowUpOutcome.REACHED_WELL.value, "Reached, no concerns"),
    (FollowUpOutcome.REACHED_CONCERNS.value, "Reached, concerns (say what was done)"),
    (FollowUpOutcome.NOT_REACHED.value, "Not reached (say what was done)"),
]


def discharge_page(view: dict[str, Any], status: int = 200, errors: list[tuple[str, str]] | None = None,
                   values: Any = None, refused: list[str] | None = None) -> tuple[str, int]:
    return page("documentation/discharge.html", status, errors=errors, values=values, session=view,
                aldrete_items=ALDRETE_ITEMS, aldrete_max=ALDRETE_ITEM_MAX_SCORE, refused=refused or [],
                follow_up_outcomes=FOLLOW_UP_OUTCOMES)


@ui.get("/ui/sessions/<session_id>/discharge")
@requires("Encounter", "r", **IN_SESSION)
def discharge_form(session_id: str) -> ResponseReturnValue:
    return discharge_page(own_session(session_id))


@ui.post("/ui/sessions/<session_id>/discharge")
@requires("Encounter", "u", **IN_SESSION)
@requires("Procedure", "u", **IN_SESSION)
def discharge(session_id: str) -> ResponseReturnValue:
    def run(form: Form) -> None:
        answers = form.yes_no(["mental_status_at_baseline", "escort_present"])
        scores = {item: form.optional(f"aldrete.{item}") for item in ALDRETE_ITEMS}
        submit(lambda body: service().discharge(session_id, body), c.Discharge, {
            "by": clinician(), "at": form.time("at"), **answers,
            "aldrete": scores if any(scores.values()) else None,
            "override_reason": form.text("override_reason"),
            "safety_plan_confirmed": form.checked("safety_plan_confirmed"), **discharge_extras(form)})

    def again(view: dict[str, Any], error: FormInvalid) -> ResponseReturnValue:
        """Criteria not met while recovering: their reasons above the override field (409)."""
        if error.refusal and view["status"] == "recovering":
            refusal = [message for _field, message in error.issues]
            return discharge_page(view, 409, values=request.form, refused=refusal)
        return discharge_page(view, error.status, error.issues, request.form)

    return post_form(session_id, run, again, ".session_page", "discharged", "discharge")


@ui.post("/ui/sessions/<session_id>/follow-up-call")
@requires("Task", "u", **IN_SESSION)
def complete_follow_up_call(session_id: str) -> ResponseReturnValue:
    return post_form(session_id, lambda form: submit(
        lambda body: service().complete_follow_up_call(session_id, body), c.CompleteFollowUpCall,
        {"by": clinician(), "at": form.time("at"), "outcome": form.text("outcome"), "note": form.text("note")}),
        redrawn(discharge_page), ".discharge_form", "follow-up-call", "follow-up", prefix="follow-up")
