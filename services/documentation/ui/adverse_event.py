"""The adverse-event page: record one, or update one recorded earlier (its outcome)."""
from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from services.documentation import commands as c
from services.documentation.access import IN_SESSION, service
from services.documentation.domain.adverse_events import AdverseEventKind, AdverseEventOutcome, Severity
from services.documentation.handlers import new_id
from services.documentation.ui.forms import Form, submit
from services.documentation.ui.pages import (
    clinician, input_time, options, own_session, page, post_form, redrawn, ui,
)
from shared.smart import requires


def adverse_event_page(view: dict[str, Any], status: int = 200, errors: list[tuple[str, str]] | None = None,
                       values: Any = None) -> tuple[str, int]:
    editing = None
    if values is None and request.args.get("event_id"):
        editing = next((e for e in view["adverse_events"] if e["event_id"] == request.args["event_id"]), None)
        if editing:
            values = {**editing, "at": input_time(editing["onset_at"]),
                      "serious": "on" if editing["serious"] else ""}
    return page("documentation/adverse_event.html", status, errors=errors, values=values, session=view,
                kinds=options(AdverseEventKind), severities=options(Severity),
                outcomes=options(AdverseEventOutcome), editing=editing, new_event_id=new_id())


@ui.get("/ui/sessions/<session_id>/adverse-events")
@requires("AdverseEvent", "r", **IN_SESSION)
def adverse_event_form(session_id: str) -> ResponseReturnValue:
    return adverse_event_page(own_session(session_id))


@ui.post("/ui/sessions/<session_id>/adverse-events")
@requires("AdverseEvent", "cu", **IN_SESSION)
def record_adverse_event(session_id: str) -> ResponseReturnValue:
    def run(form: Form) -> None:
        submit(lambda body: service().record_adverse_event(session_id, body), c.RecordAdverseEvent, {
            "by": clinician(), "at": form.time("at"), "event_id": form.optional("event_id"),
            "kind": form.text("kind"), "severity": form.text("severity"), "outcome": form.text("outcome"),
            "description": form.text("description"), "action_taken": form.text("action_taken"),
            "serious": form.checked("serious")})

    return post_form(session_id, run, redrawn(adverse_event_page), ".session_page", "adverse-event", "adverse-events")
