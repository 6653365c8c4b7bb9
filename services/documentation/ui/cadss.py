"""The CADSS page: a rating at a scheduled timepoint (or an unscheduled one), or why a scheduled one was not
rated."""
from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from services.documentation import commands as c
from services.documentation.access import IN_CONTEXT, service
from services.documentation.domain.cadss import CADSS_ITEM_MAX_SCORE, CADSS_ITEM_MIN_SCORE, CadssForm
from services.documentation.handlers import new_id
from services.documentation.ui.forms import FormInvalid, outcome_as_form_errors, submit
from services.documentation.ui.pages import (
    clinician, done, own_session, page, posted_form, session_view, ui, values_of,
)
from shared.smart import requires


def cadss_page(view: dict[str, Any], form_value: str, status: int = 200,
               errors: list[tuple[str, str]] | None = None, values: Any = None) -> tuple[str, int]:
    cadss_form = CadssForm(form_value) if form_value in values_of(CadssForm) else CadssForm.SHORT
    return page("documentation/cadss.html", status, errors=errors, values=values, session=view,
                cadss_form=cadss_form.value, items=cadss_form.items, max_total=cadss_form.max_total,
                item_min=CADSS_ITEM_MIN_SCORE, item_max=CADSS_ITEM_MAX_SCORE, timepoints=cadss_timepoints(view),
                new_assessment_id=new_id())


@ui.get("/ui/sessions/<session_id>/cadss")
@requires("Observation", "r", **IN_CONTEXT)
def cadss_form(session_id: str) -> ResponseReturnValue:
    return cadss_page(own_session(session_id), request.args.get("form", CadssForm.SHORT.value))


@ui.post("/ui/sessions/<session_id>/cadss")
@requires("Observation", "c", **IN_CONTEXT)
def record_cadss(session_id: str) -> ResponseReturnValue:
    own_session(session_id)
    form = posted_form()
    chosen = form.text("form")
    try:
        with outcome_as_form_errors():
            count = len(CadssForm(chosen).items) if chosen in values_of(CadssForm) else 0
            timepoint = form.text("timepoint")
            submit(lambda body: service().record_cadss(session_id, body), c.RecordCadss, {
                "by": clinician(), "at": form.time("at"), "form": chosen,
                "assessment_id": form.optional("assessment_id"),
                "item_scores": [form.optional(f"item_scores[{index}]") for index in range(count)],
                "scheduled_minute": timepoint.removeprefix("minute:") if timepoint.startswith("minute:") else None,
                "end_of_recovery": timepoint == "end-of-recovery"})
    except FormInvalid as error:
        return cadss_page(session_view(session_id), chosen, error.status, error.issues, request.form)
    return done(".session_page", "cadss", "cadss", session_id=session_id)


@ui.post("/ui/sessions/<session_id>/cadss/not-rated")
@requires("Observation", "c", **IN_CONTEXT)
def record_cadss_not_rated(session_id: str) -> ResponseReturnValue:
    own_session(session_id)
    form = posted_form()
    timepoint = form.text("timepoint")
    try:
        with outcome_as_form_errors("not-rated"):
            submit(lambda body: service().record_cadss_not_rated(session_id, body), c.RecordCadssNotRated, {
                "by": clinician(), "at": form.time("at"), "reason": form.text("reason"),
                "scheduled_minute": timepoint.removeprefix("minute:") if timepoint.startswith("minute:") else None,
                "end_of_recovery": timepoint == "end-of-recovery"})
    except FormInvalid as error:
        return cadss_page(session_view(session_id), CadssForm.SHORT.value, error.status, error.issues, request.form)
    return done(".session_page", "cadss-not-rated", "cadss", session_id=session_id)


def cadss_timepoints(view: dict[str, Any]) -> list[tuple[str, str]]:
    """The due timepoints first (the first one is preselected), then an unscheduled rating, then one a discharge now
    would need (the end of recovery before the minimum observation time; never preselected)."""
    def key(due: dict[str, Any]) -> str:
        return "end-of-recovery" if due["end_of_recovery"] else f"minute:{due['scheduled_minute']}"

    choices = [(key(due), f"{due['label']} (due)") for due in view["due_cadss"]]
    early = [(key(due), f"{due['label']} (for an early discharge)") for due in view.get("cadss_due_at_discharge", [])
             if key(due) not in {value for value, _label in choices}]
    return choices + [("unscheduled", "Unscheduled rating")] + early
