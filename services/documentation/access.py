"""SMART access: whose record a request is about, for ``@requires`` (``shared/smart``), and the service the views
reach through the app.

The session and note routes, of the API and of the pages, name no patient: the patient is the one the session (or
the note) belongs to, read from the store before the view runs, so a patient-bound session or token is checked
against it (an unknown session or note is a 404). The home page lists the sessions of the patient in the SMART
launch context; the pages check each record against that patient again as they load it."""
from __future__ import annotations

from typing import Any

from services.documentation.handlers import DocumentationService
from shared.smart.access import PatientSource
from shared.ui import in_launch_context
from shared.web import app_service

SERVICE_KEY = "ketalink.documentation"  # app.extensions key of the service layer (bootstrap installs it)


def service() -> DocumentationService:
    """The service layer of the app handling this request."""
    return app_service(SERVICE_KEY, DocumentationService)


def session_patient(view_args: dict[str, Any]) -> str:
    """The patient of the session in the path (an unknown session is a 404)."""
    return service().session_patient_id(view_args["session_id"])


def note_patient(view_args: dict[str, Any]) -> str:
    """The patient of the note in the path (an unknown note is a 404)."""
    return service().note(view_args["note_id"]).patient_id


IN_SESSION: dict[str, PatientSource] = {"patient": session_patient}
OF_NOTE: dict[str, PatientSource] = {"patient": note_patient}
IN_CONTEXT: dict[str, PatientSource] = {"patient": in_launch_context}  # the home page: the launch's patient
