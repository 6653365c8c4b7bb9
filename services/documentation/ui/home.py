"""The home page: the sessions of the patient open in the EHR."""
from __future__ import annotations

from flask.typing import ResponseReturnValue

from services.documentation.access import IN_CONTEXT, service
from services.documentation.presenters import session_summary
from services.documentation.ui.pages import page, ui
from shared.smart import requires
from shared.ui import launch_context


@ui.get("/")
@requires("Encounter", "s", **IN_CONTEXT)
def home() -> ResponseReturnValue:
    patient = launch_context().patient
    sessions = [session_summary(session) for session in service().sessions_for_patient(patient)] if patient else []
    return page("documentation/home.html", sessions=sessions)
