"""What every page of the documentation app shares: the blueprint, the clinic's zone and how times are written,
whose record a page may show, who charts, and rendering a page with its banner, notice and errors.

Every page works on the patient in the SMART launch context only: a session or note of another patient is refused
(``own_session``, ``own_note``). Posts carry a per-session CSRF token and must come from this app's own pages (the UI
kit's guard, ``shared.ui.forms``)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from services.documentation.access import service
from services.documentation.domain.note import ProcedureNote
from services.documentation.ehr_reads import latest_eligibility
from services.documentation.messages import NOTE_KIND, SESSION_KIND
from services.documentation.presenters import latest_signed, page_ehr_status, session_state_view
from services.documentation.ui.forms import Form, FormInvalid, outcome_as_form_errors
from shared.clinic_time import INPUT_PATTERN, INPUT_PLACEHOLDER, format_clinic_time, input_value, zone_label
from shared.db import RecordNotFound
from shared.smart import SmartAuthError
from shared.ui import (
    check_same_patient, clinician_name, ehr_as_clinician, fhir_user_reference, guard_form_posts, launch_context,
    patient_banner,
)
from shared.web import app_service

UI_TITLE = "Infusion documentation"
UI_SETTINGS_KEY = "ketalink.documentation.ui"  # app.extensions key of the pages' settings (bootstrap installs them)
NOT_RECORDED = "Not recorded"  # the error summary's heading when the refusal is not about the fields (not 400)

# What a page says after a step (``?notice=<key>``): a fixed list, so nothing from the URL is echoed.
NOTICES = {
    "checked-in": "Patient checked in. Next: the pre-infusion check.",
    "pre-check": "Pre-infusion check recorded.",
    "override": "Hold overridden; the reason is recorded.",
    "suicide-risk-review": "Suicide-risk review recorded.",
    "started": "Infusion started.",
    "vitals": "Vital signs recorded.",
    "vitals-alert": "Vital signs recorded. ALERT raised: record the action taken here.",
    "alert-action": "Action recorded; the alert is closed.",
    "event": "Event recorded.",
    "cadss": "CADSS rating recorded.",
    "adverse-event": "Adverse event recorded.",
    "administration": "Administration record saved. Next: review the dose given against the order.",
    "administration-reviewed": "Given versus ordered reviewed.",
    "controlled-substance": "Controlled-substance record saved.",
    "follow-up-call": "Follow-up call recorded.",
    "cadss-not-rated": "Reason recorded: the CADSS timepoint is no longer due.",
    "pump-change": "Pump change charted: the administration record will start from it.",
    "ended": "Infusion ended; recovery has begun.",
    "discharged": "Patient discharged.",
    "deferred": "Session deferred.",
    "aborted": "Session aborted.",
    "note-drafted": "Draft note created from the session: review, edit and sign it.",
    "note-saved": "Draft saved.",
    "note-signed": "Note signed and sent to the EHR.",
    "note-amended": "Amendment drafted: review and sign it.",
}
STATUS_LABELS = {
    "scheduled": "Scheduled", "checked-in": "Checked in", "pre-check": "Pre-infusion check", "infusing": "Infusing",
    "recovering": "Recovering", "discharged": "Discharged", "aborted": "Aborted", "deferred": "Deferred",
    "cancelled": "Cancelled",
}
PRE_CHECK_OUTCOMES = {  # outcome → (words shown, style: ok / warn / alert)
    "cleared": ("Cleared to start", "ok"),
    "recheck-required": ("Recheck required: blood pressure high, recheck at rest", "warn"),
    "hold": ("HOLD: do not start", "alert"),
}
ENDED = ("discharged", "aborted", "deferred")  # a note can be written
# Notices that report a clinical alert: shown as an alert (role="alert"), never in the green success bar.
ALERT_NOTICES = frozenset({"vitals-alert"})


@dataclass(frozen=True)
class UiSettings:
    """The IANA zone the clinic charts in: the one zone of every service (``KETALINK_CLINIC_TIMEZONE``,
    ``shared/clinic_time.py``; ``bootstrap`` passes it). Pages show times in it, and a time typed into a form, which
    has no offset, is read in it."""

    clinic_timezone: str = "UTC"

    def validate(self) -> None:
        try:
            self.zone
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"clinic_timezone {self.clinic_timezone!r} is not an IANA time zone name") from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.clinic_timezone)


ui = Blueprint("documentation_ui", __name__, root_path=str(Path(__file__).resolve().parent.parent),
               template_folder="templates", static_folder="static", static_url_path="/ui/documentation-static")
guard_form_posts(ui)


def clinic_zone() -> ZoneInfo:
    return app_service(UI_SETTINGS_KEY, UiSettings).zone


# --- formatting ------------------------------------------------------------------------------------------------------
def clinic_time(value: Any, pattern: str = "") -> str:
    """A time as every page and the note write it (``shared/clinic_time.py``: ``2026-12-07 05:43 CST
    (UTC−06:00)``); with a 24-hour ``pattern`` (``%H:%M`` in a table the page heads with the zone) only that."""
    moment = as_datetime(value)
    if moment is None:
        return "—"
    zone = clinic_zone()
    return moment.astimezone(zone).strftime(pattern) if pattern else format_clinic_time(moment, zone)


def input_time(value: Any) -> str:
    """A time as a 24-hour time field shows it, in the clinic's zone (``2026-12-07 05:43``)."""
    return input_value(as_datetime(value), clinic_zone())


@ui.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"clinic_time": clinic_time, "input_time": input_time, "status_label": _status_label,
            "clinic_zone": zone_label(clinic_zone()), "time_pattern": INPUT_PATTERN,
            "time_placeholder": INPUT_PLACEHOLDER, "pre_check_outcomes": PRE_CHECK_OUTCOMES}


# --- context, guards, rendering ---------------------------------------------------------------------------------------
def _own(patient_id: str, what: str) -> None:
    """The session or note is the launch's patient's, or the page is refused. A launch without a patient, with
    user-level scopes (the suite board's), reaches the records those scopes allow (``@requires`` checked them): the
    page then works on the record's own patient and shows that patient's banner."""
    context = launch_context()
    if not context.patient and any(scope.startswith("user/") for scope in context.scopes):
        return
    if not context.patient:
        raise SmartAuthError(403, "No patient is open. Open the app from the patient's chart in the EHR.",
                             title="No patient in context")
    check_same_patient(patient_id, what)


def session_view(session_id: str) -> dict[str, Any]:
    """The session as the API answers it (``presenters.session_state_view``)."""
    return session_state_view(service().session(session_id), service().settings)


def own_session(session_id: str) -> dict[str, Any]:
    """The session, if it is the launch's patient's."""
    view = session_view(session_id)
    _own(view["patient_id"], "session")
    return view


def own_note(note_id: str) -> ProcedureNote:
    """The note, if it is the launch's patient's."""
    note = service().note(note_id)
    _own(note.patient_id, "note")
    return note


def clinician() -> str:
    """Who charts: the launch's fhirUser by name (by reference when the EHR cannot give the name)."""
    context = launch_context()
    if not context.fhir_user:
        raise SmartAuthError(403, "The EHR did not say who is signed in (no fhirUser in the launch), so nothing "
                                  "can be charted under your name. Open the app again from the EHR.",
                             title="Who is charting?")
    return clinician_name(context) or fhir_user_reference(context.fhir_user)


def posted_form() -> Form:
    """The posted form (it passed the form guard before the view ran)."""
    return Form(request.form, clinic_zone())


def page(template: str, status: int = 200, *, errors: list[tuple[str, str]] | None = None,
         form_name: str = "", values: Any = None, **variables: Any) -> tuple[str, int]:
    context = launch_context()
    banner = None
    # Without a patient in the launch (opened from the suite board) the banner is the shown session's patient.
    shown = variables.get("session") if isinstance(variables.get("session"), dict) else {}
    banner_patient = context.patient or shown.get("patient_id")
    if banner_patient:
        eligibility = latest_eligibility(ehr_as_clinician(context), banner_patient)
        banner = patient_banner(context, banner_patient, eligibility=eligibility)
    errors = errors or []
    notice_key = request.args.get("notice", "") if request.method == "GET" else ""
    notice = NOTICES.get(notice_key)
    alert_notice = notice if notice_key in ALERT_NOTICES else None
    notice = None if alert_notice else notice
    if isinstance(variables.get("session"), dict) and "ehr_status" not in variables:
        variables["ehr_status"] = session_ehr_status(variables["session"]["session_id"])
    html = render_template(
        template, banner=banner, errors=errors, error_heading=None if status == 400 else NOT_RECORDED,
        field_errors={field: message for field, message in errors if field}, form_name=form_name,
        values=values if values is not None else {}, notice=notice, alert_notice=alert_notice,
        patient_in_context=context.patient,
        **variables)
    return html, status


def session_ehr_status(session_id: str) -> dict[str, Any] | None:
    """What every page of a session shows of the EHR's answers (``presenters.page_ehr_status``): the latest signed
    note refused is an alert on each of them, then the session's own messages."""
    signed = latest_signed(service().notes(session_id))
    note_status = service().ehr_status(NOTE_KIND, signed.note_id) if signed else None
    return page_ehr_status(service().ehr_status(SESSION_KIND, session_id), note_status)


def done(endpoint: str, notice: str, anchor: str | None = None, **args: Any) -> Response:
    return redirect(url_for(endpoint, notice=notice, _anchor=anchor, **args), code=303)


Redraw = Callable[[dict[str, Any], FormInvalid], ResponseReturnValue]


def redrawn(draw: Callable[..., tuple[str, int]]) -> Redraw:
    """A screen drawn again after a refused post, ``draw(view, status, errors, values)``: the errors next to their
    fields and what was typed."""
    return lambda view, error: draw(view, error.status, error.issues, request.form)


def post_form(session_id: str, run: Callable[[Form], Any], again: Redraw, endpoint: str,
              notice: str | Callable[[Any], str], anchor: str | None = None, prefix: str = "") -> ResponseReturnValue:
    """A form posted on one of the session's screens: ``run`` makes the command from the form and has the service
    layer carry it out, then the browser goes to ``endpoint`` with the ``notice`` (a key of ``NOTICES``, or one
    made from what ``run`` answered). Refused, the screen is drawn again (``again``) with the session as it is now;
    ``prefix`` (the form's name, when a screen has several) goes in front of each field of an error."""
    own_session(session_id)
    form = posted_form()
    try:
        with outcome_as_form_errors(prefix):
            result = run(form)
    except FormInvalid as error:
        return again(session_view(session_id), error)
    return done(endpoint, notice(result) if callable(notice) else notice, anchor, session_id=session_id)


@ui.errorhandler(RecordNotFound)
def _not_found(error: RecordNotFound) -> ResponseReturnValue:
    return page("documentation/not_found.html", 404, what=str(error.args[0]) if error.args else "not found")


# --- what the templates show ---------------------------------------------------------------------------------------
def _status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    return None


def options(enum_type: Any) -> list[tuple[str, str]]:
    return [(member.value, _words(member.value)) for member in enum_type]


def values_of(enum_type: Any) -> tuple[str, ...]:
    return tuple(member.value for member in enum_type)


def _words(value: str) -> str:
    spaced = "".join(f" {ch.lower()}" if ch.isupper() else ch for ch in value).replace("-", " ")
    return spaced[:1].upper() + spaced[1:]


def number_text(value: float | int) -> str:
    return f"{value:g}"
