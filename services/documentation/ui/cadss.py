"""The CADSS page: a rating at a scheduled timepoint (or an unscheduled one), or why a scheduled one was not
rated."""
from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from services.documentation import commands as c
from services.documentation.access import IN_SESSION, service
from services.documentation.domain.cadss import CADSS_ITEM_MAX_SCORE, CADSS_ITEM_MIN_SCORE, CadssForm
from services.documentation.handlers import new_id
from services.documentation.ui.forms import Form, FormInvalid, submit
from services.documentation.ui.pages import clinician, own_session, page, post_form, posted_form, ui, values_of
from shared.smart import requires


def cadss_page(view: dict[str, Any], form_value: str, status: int = 200,
               errors: list[tuple[str, str]] | None = None, values: Any = None) -> tuple[str, int]:
    cadss_form = CadssForm(form_value) if form_value in values_of(CadssForm) else CadssForm.SHORT
    return page("documentation/cadss.html", status, errors=errors, values=values, session=view,
                cadss_form=cadss_form.value, items=cadss_form.items, max_total=cadss_form.max_total,
                item_min=CADSS_ITEM_MIN_SCORE, item_max=CADSS_ITEM_MAX_SCORE, timepoints=cadss_timepoints(view),
                new_assessment_id=new_id())


@ui.get("/ui/sessions/<session_id>/cadss")
@requires("Observation", "r", **IN_SESSION)
def cadss_form(session_id: str) -> ResponseReturnValue:
    return cadss_page(own_session(session_id), request.args.get("form", CadssForm.SHORT.value))


@ui.post("/ui/sessions/<session_id>/cadss")
@requires("Observation", "c", **IN_SESSION)
def record_cadss(session_id: str) -> ResponseReturnValue:
    def run(form: Form) -> None:
        chosen = form.text("form")
        count = len(CadssForm(chosen).items) if chosen in values_of(CadssForm) else 0
        submit(lambda body: service().record_cadss(session_id, body), c.RecordCadss, {
            "by": clinician(), "at": form.time("at"), "form": chosen, "assessment_id": form.optional("assessment_id"),
            "item_scores": [form.optional(f"item_scores[{index}]") for index in range(count)],
            **_timepoint(form)})

    def again(view: dict[str, Any], error: FormInvalid) -> ResponseReturnValue:
        """The form (CADSS-6 or -28) that was posted, with the errors."""
        return cadss_page(view, posted_form().text("form"), error.status, error.issues, request.form)

    return post_form(session_id, run, again, ".session_page", "cadss", "cadss")


@ui.post("/ui/sessions/<session_id>/cadss/not-rated")
@requires("Observation", "c", **IN_SESSION)
def record_cadss_not_rated(session_id: str) -> ResponseReturnValue:
    def again(view: dict[str, Any], error: FormInvalid) -> ResponseReturnValue:
        return cadss_page(view, CadssForm.SHORT.value, error.status, error.issues, request.form)

    return post_form(session_id, lambda form: submit(
        lambda body: service().record_cadss_not_rated(session_id, body), c.RecordCadssNotRated,
        {"by": clinician(), "at": form.time("at"), "reason": form.text("reason"), **_timepoint(form)}),
        again, ".session_page", "cadss-not-rated", "cadss", prefix="not-rated")


def _timepoint(form: Form) -> dict[str, Any]:
    """The chosen timepoint (``minute:40``, ``end-of-recovery`` or ``unscheduled``) as the command's fields."""
    timepoint = form.text("timepoint")
    return {"scheduled_minute": timepoint.removeprefix("minute:") if timepoint.startswith("minute:") else None,
            "end_of_recovery": timepoint == "end-of-recovery"}


def cadss_timepoints(view: dict[str, Any]) -> list[tuple[str, str]]:
    """The due timepoints first (the first one is preselected), then an unscheduled rating, then one a discharge now
    would need (the end of recovery before the minimum observation time; never preselected)."""
    def key(due: dict[str, Any]) -> str:
        return "end-of-recovery" if due["end_of_recovery"] else f"minute:{due['scheduled_minute']}"

    choices = [(key(due), f"{due['label']} (due)") for due in view["due_cadss"]]
    early = [(key(due), f"{due['label']} (for an early discharge)") for due in view.get("cadss_due_at_discharge", [])
             if key(due) not in {value for value, _label in choices}]
    return choices + [("unscheduled", "Unscheduled rating")] + early
