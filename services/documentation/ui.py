"""The clinician's pages for the infusion session, opened from the patient's chart in the EHR (SMART launch):
the patient's sessions, the session flowsheet with each step's form, the pre-infusion check, CADSS, adverse events,
the administration record, discharge and the procedure note.

Server-rendered (Flask templates extending the shared ``ui/base.html``); every post becomes the same request model
the JSON API takes and goes to the same service-layer function (``handlers.DocumentationService``), so the rules and
their messages are the API's. The pages work on the patient in the SMART context only: a session or note of
another patient is refused. Posts carry a per-session CSRF token and must come from this app's own pages (the UI
kit's guard, ``shared.ui.forms``)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, Response, redirect, render_template, request, url_for

from services.documentation import commands as rm
from services.documentation.domain.adverse_events import AdverseEventKind, AdverseEventOutcome, Severity
from services.documentation.domain.administration import AdministrationRecord
from services.documentation.domain.cadss import CADSS_ITEM_MAX_SCORE, CADSS_ITEM_MIN_SCORE, CadssForm
from services.documentation.domain.discharge import ALDRETE_ITEM_MAX_SCORE, ALDRETE_ITEMS
from services.documentation.domain.flowsheet import AlertActionKind
from services.documentation.domain.pump import PumpChangeKind
from services.documentation.domain.pre_check import PregnancyCheck
from services.documentation.domain.settings import PRE_CHECK_READINGS
from services.documentation.domain.spacing import ScheduleRefused
from services.documentation.handlers import DocumentationService, new_id
from services.documentation.ehr_reads import latest_eligibility, practitioner_options
from services.documentation.ui_accountability import (
    FOLLOW_UP_OUTCOMES, RESCUE_ROUTES, RESCUE_UNITS, alert_action_body, charted_values, controlled_substance_body,
    controlled_substance_values, discharge_extras,
)
from services.documentation.ui_forms import Form, FormInvalid, command, outcome_as_form_errors
from services.documentation.ui_safety import (
    CSSRS_ROWS, REVIEW_DECISIONS, cssrs_answers, readiness_answers, readiness_rows,
)
from shared.clinic_time import INPUT_PATTERN, INPUT_PLACEHOLDER, format_clinic_time, input_value, zone_label
from shared.db import RecordNotFound
from shared.roles import require_prescriber
from shared.smart import SmartAuthError, requires
from shared.ui import (
    check_same_patient, clinician_name, ehr_as_clinician, fhir_user_reference, guard_form_posts, in_launch_context,
    launch_context, patient_banner,
)

UI_TITLE = "Infusion documentation"
NOT_RECORDED = "Not recorded"  # the error summary's heading when the refusal is not about the fields (not 400)

# What a page says after a step (``?notice=<key>``): a fixed list, so nothing from the URL is echoed.
NOTICES = {
    "checked-in": "Patient checked in. Next: the pre-infusion check.",
    "pre-check": "Pre-infusion check recorded.",
    "override": "Hold overridden; the reason is recorded.",
    "suicide-risk-review": "Suicide-risk review recorded.",
    "started": "Infusion started.",
    "vitals": "Vital signs recorded.",
    "vitals-alert": "Vital signs recorded. ALERT raised: record the action taken below.",
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
_DOCUMENTABLE = ("checked-in", "pre-check", "infusing", "recovering", "aborted")
_AT_CLINIC = ("checked-in", "pre-check", "infusing", "recovering")
_BEFORE_INFUSION = ("scheduled", "checked-in", "pre-check")
_ENDED = ("discharged", "aborted", "deferred")  # a note can be written
VITALS_FIELDS = ("systolic_mmhg", "diastolic_mmhg", "heart_rate_per_min", "spo2_percent", "respiratory_rate_per_min",
                 "rass_score")
CONFIRMATIONS = (
    ("ride_home_confirmed", "Ride home with a responsible adult arranged?"),
    ("no_new_contraindication_since_intake", "No new contraindication since intake?"),
    ("no_new_interacting_drug_since_intake", "No new interacting drug since intake?"),
)
FASTING_TIMES = (  # issue 13 defect 18: the times, not a yes/no, checked against the clinic's fasting windows
    ("last_solid_food_at", "Last solid food"),
    ("last_clear_fluids_at", "Last clear fluids"),
)
EXTRA_RATE_ROWS = 2
PAUSE_ROWS = 2


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


IN_CONTEXT = {"patient": in_launch_context}  # records are checked against the launch's patient in the view


def create_ui(service: DocumentationService, settings: UiSettings) -> Blueprint:
    ui = Blueprint("documentation_ui", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/ui/documentation-static")
    zone = settings.zone
    guard_form_posts(ui)

    # --- formatting ----------------------------------------------------------------------------------------------
    def clinic_time(value: Any, pattern: str = "") -> str:
        """A time as every page and the note write it (``shared/clinic_time.py``: ``2026-12-07 05:43 CST
        (UTC−06:00)``); with a 24-hour ``pattern`` (``%H:%M`` in a table the page heads with the zone) only that."""
        moment = _as_datetime(value)
        if moment is None:
            return "—"
        return moment.astimezone(zone).strftime(pattern) if pattern else format_clinic_time(moment, zone)

    def input_time(value: Any) -> str:
        """A time as a 24-hour time field shows it, in the clinic's zone (``2026-12-07 05:43``)."""
        return input_value(_as_datetime(value), zone)

    @ui.app_context_processor
    def _helpers() -> dict[str, Any]:
        return {"clinic_time": clinic_time, "input_time": input_time, "status_label": _status_label,
                "clinic_zone": zone_label(zone), "time_pattern": INPUT_PATTERN,
                "time_placeholder": INPUT_PLACEHOLDER, "pre_check_outcomes": PRE_CHECK_OUTCOMES}

    # --- context, guards, rendering ------------------------------------------------------------------------------
    def own(record: dict[str, Any], what: str) -> dict[str, Any]:
        """The session or note, if it is the launch's patient's."""
        if not launch_context().patient:
            raise SmartAuthError(403, "No patient is open. Open the app from the patient's chart in the EHR.",
                                 title="No patient in context")
        check_same_patient(record["patient_id"], what)
        return record

    def own_session(session_id: str) -> dict[str, Any]:
        return own(service.session(session_id), "session")

    def own_note(note_id: str) -> dict[str, Any]:
        return own(service.note(note_id), "note")

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
        return Form(request.form, zone)

    def page(template: str, status: int = 200, *, errors: list[tuple[str, str]] | None = None,
             form_name: str = "", values: Any = None, **variables: Any) -> tuple[str, int]:
        context = launch_context()
        banner = None
        if context.patient:
            eligibility = latest_eligibility(ehr_as_clinician(context), context.patient)
            banner = patient_banner(context, context.patient, eligibility=eligibility)
        errors = errors or []
        notice = NOTICES.get(request.args.get("notice", "")) if request.method == "GET" else None
        html = render_template(
            template, banner=banner, errors=errors, error_heading=None if status == 400 else NOT_RECORDED,
            field_errors={field: message for field, message in errors if field}, form_name=form_name,
            values=values if values is not None else {}, notice=notice, patient_in_context=context.patient,
            **variables)
        return html, status

    def done(endpoint: str, notice: str, anchor: str | None = None, **args: Any) -> Response:
        return redirect(url_for(endpoint, notice=notice, _anchor=anchor, **args), code=303)

    @ui.errorhandler(RecordNotFound)
    def _not_found(error: RecordNotFound):  # type: ignore[no-untyped-def]
        return page("documentation/not_found.html", 404, what=str(error.args[0]) if error.args else "not found")

    # --- home: the patient's sessions ----------------------------------------------------------------------------
    @ui.get("/")
    @requires("Encounter", "s", **IN_CONTEXT)
    def home():  # type: ignore[no-untyped-def]
        patient = launch_context().patient
        sessions = service.sessions_for_patient(patient) if patient else []
        return page("documentation/home.html", sessions=sessions)

    # --- the session: flowsheet and steps ------------------------------------------------------------------------
    def flowsheet(view: dict[str, Any], status: int = 200, errors: list[tuple[str, str]] | None = None,
                  form_name: str = "", values: Any = None,
                  schedule_refusal: tuple[str, ...] = ()) -> tuple[str, int]:
        """``schedule_refusal``: the window/interval rules that refused a check-in just now (the override form)."""
        return page("documentation/session.html", status, errors=errors, form_name=form_name, values=values,
                    schedule_refusal=schedule_refusal,
                    session=view, rows=_flowsheet_rows(view), latest_check=_latest_check(view),
                    can_override=_can_override(view), alerts_by_reading=_alerts_by_reading(view),
                    new_reading_id=new_id(), new_event_id=new_id(), alert_kinds=_options(AlertActionKind),
                    documentable=view["status"] in _DOCUMENTABLE, at_clinic=view["status"] in _AT_CLINIC,
                    before_infusion=view["status"] in _BEFORE_INFUSION, ended=view["status"] in _ENDED,
                    review_decisions=REVIEW_DECISIONS, rescue_routes=RESCUE_ROUTES, rescue_units=RESCUE_UNITS,
                    pump_kinds=_options(PumpChangeKind),
                    vitals_fields=VITALS_FIELDS)

    @ui.get("/ui/sessions/<session_id>")
    @requires("Encounter", "r", **IN_CONTEXT)
    def session_page(session_id: str):  # type: ignore[no-untyped-def]
        return flowsheet(own_session(session_id))

    def step(session_id: str, form_name: str, run: Callable[[Form, str], Any], notice: str | Callable[[Any], str],
             anchor: str | None = None) -> Any:
        """One step posted from the flowsheet: run it, then back to the flowsheet (or the flowsheet again with
        the errors next to the fields of the form that was sent)."""
        own_session(session_id)
        form = posted_form()
        try:
            with outcome_as_form_errors(form_name):
                result = run(form, clinician())
        except FormInvalid as error:
            return flowsheet(service.session(session_id), error.status, error.issues, form_name, request.form)
        key = notice(result) if callable(notice) else notice
        return done(".session_page", key, anchor, session_id=session_id)

    def check_in_step(session_id: str, form_name: str, override: bool) -> Any:
        """Check in, or (``override``) check in setting the window and interval rules aside with the posted reason.
        A refusal by those rules shows its reasons and the override form (``schedule_refusal``)."""
        own_session(session_id)
        form = posted_form()
        refused: tuple[str, ...] = ()
        try:
            with outcome_as_form_errors(form_name):
                by = clinician()
                values: dict[str, Any] = {"by": by, "at": form.time("at")}
                if override:
                    if not form.text("reason"):
                        raise FormInvalid([("reason", "the reason for the override is required")])
                    values |= {"override_reason": form.text("reason"), "override_by": by}
                try:
                    service.check_in(session_id, command(rm.CheckIn, values))
                except ScheduleRefused as error:
                    refused = error.failing
                    raise
        except FormInvalid as error:
            return flowsheet(service.session(session_id), error.status, error.issues, form_name, request.form,
                             schedule_refusal=refused)
        return done(".session_page", "checked-in", session_id=session_id)

    @ui.post("/ui/sessions/<session_id>/check-in")
    @requires("Encounter", "u", **IN_CONTEXT)
    def check_in(session_id: str):  # type: ignore[no-untyped-def]
        return check_in_step(session_id, "check_in", override=False)

    @ui.post("/ui/sessions/<session_id>/check-in/override")
    @requires("Encounter", "u", **IN_CONTEXT)
    def check_in_override(session_id: str):  # type: ignore[no-untyped-def]
        """A prescriber checks in outside the window or sooner than the minimum interval, with a reason (issue 13
        defect 6). The role comes from the EHR (``require_prescriber``, as the API): a nurse gets the refusal page
        (403). The overrider is the signed-in clinician, never a typed name."""
        own_session(session_id)
        require_prescriber(launch_context(), "override an infusion's window or minimum interval")
        return check_in_step(session_id, "check_in_override", override=True)

    @ui.post("/ui/sessions/<session_id>/override")
    @requires("Encounter", "u", **IN_CONTEXT)
    def override_hold(session_id: str):  # type: ignore[no-untyped-def]
        return step(session_id, "override", lambda form, by: service.override_hold(session_id, command(
            rm.HoldOverride, {"by": by, "at": form.time("at"), "reason": form.text("reason")})), "override")

    @ui.post("/ui/sessions/<session_id>/suicide-risk-review")
    @requires("Encounter", "u", **IN_CONTEXT)
    def review_suicide_risk(session_id: str):  # type: ignore[no-untyped-def]
        """Who reviewed is the signed-in clinician (the launch's fhirUser), never a typed name."""
        return step(session_id, "review", lambda form, by: service.review_suicide_risk(session_id, command(
            rm.SuicideRiskReview, {"by": by, "at": form.time("at"), "decision": form.text("decision"),
                                   "note": form.text("note")})), "suicide-risk-review", "next-step")

    @ui.post("/ui/sessions/<session_id>/start")
    @requires("Encounter", "u", **IN_CONTEXT)
    @requires("Procedure", "c", **IN_CONTEXT)
    def start_infusion(session_id: str):  # type: ignore[no-untyped-def]
        return step(session_id, "start", lambda form, by: service.start_infusion(
            session_id, command(rm.StartInfusion, {"by": by, "at": form.time("at")})), "started")

    @ui.post("/ui/sessions/<session_id>/end")
    @requires("Procedure", "u", **IN_CONTEXT)
    def end_infusion(session_id: str):  # type: ignore[no-untyped-def]
        return step(session_id, "end", lambda form, by: service.end_infusion(
            session_id, command(rm.EndInfusion, {"by": by, "at": form.time("at")})), "ended")

    @ui.post("/ui/sessions/<session_id>/defer")
    @requires("Encounter", "u", **IN_CONTEXT)
    def defer(session_id: str):  # type: ignore[no-untyped-def]
        return step(session_id, "defer", lambda form, by: service.defer(session_id, command(
            rm.Defer, {"by": by, "at": form.time("at"), "reason": form.text("reason")})), "deferred")

    @ui.post("/ui/sessions/<session_id>/abort")
    @requires("Encounter", "u", **IN_CONTEXT)
    @requires("Procedure", "u", **IN_CONTEXT)
    def abort(session_id: str):  # type: ignore[no-untyped-def]
        return step(session_id, "abort", lambda form, by: service.abort(session_id, command(
            rm.Abort, {"by": by, "at": form.time("at"), "reason": form.text("reason")})), "aborted")

    @ui.post("/ui/sessions/<session_id>/vitals")
    @requires("Observation", "c", **IN_CONTEXT)
    def record_vitals(session_id: str):  # type: ignore[no-untyped-def]
        def run(form: Form, by: str) -> dict[str, Any]:
            values = {name: form.optional(name) for name in VITALS_FIELDS}
            return service.record_vitals(session_id, command(rm.RecordVitals, {
                "by": by, "at": form.time("at"), "reading_id": form.optional("reading_id"), **values}))

        return step(session_id, "vitals", run,
                    lambda view: "vitals-alert" if view["recorded"]["alert_id"] else "vitals", "flowsheet")

    @ui.post("/ui/sessions/<session_id>/alerts/<alert_id>/action")
    @requires("Flag", "u", **IN_CONTEXT)
    def record_alert_action(session_id: str, alert_id: str):  # type: ignore[no-untyped-def]
        return step(session_id, f"alert-{alert_id}", lambda form, by: service.record_alert_action(
            session_id, alert_id, command(rm.RecordAlertAction, alert_action_body(form, by))),
            "alert-action", "alerts")

    @ui.post("/ui/sessions/<session_id>/pump-changes")
    @requires("MedicationAdministration", "cu", **IN_CONTEXT)
    def record_pump_change(session_id: str):  # type: ignore[no-untyped-def]
        return step(session_id, "pump", lambda form, by: service.record_pump_change(session_id, command(
            rm.RecordPumpChange, {"by": by, "at": form.time("at"), "kind": form.text("kind"),
                                  "rate_ml_per_h": form.optional("rate_ml_per_h"), "reason": form.text("reason")})),
            "pump-change", "next-step")

    @ui.post("/ui/sessions/<session_id>/events")
    @requires("Encounter", "u", **IN_CONTEXT)
    def record_event(session_id: str):  # type: ignore[no-untyped-def]
        return step(session_id, "event", lambda form, by: service.record_event(session_id, command(
            rm.RecordFlowsheetEvent, {"by": by, "at": form.time("at"), "text": form.text("text"),
                                      "event_id": form.optional("event_id")})), "event", "events")

    # --- pre-infusion check --------------------------------------------------------------------------------------
    def pre_check_page(view: dict[str, Any], status: int = 200, errors: list[tuple[str, str]] | None = None,
                       values: Any = None) -> tuple[str, int]:
        latest = view["pre_checks"][-1] if view["pre_checks"] else None
        context = (service.pre_check_context(view["session_id"])  # the pregnancy rule read from the EHR today
                   if view["status"] in ("checked-in", "pre-check") else
                   {"pregnancy": {"applicable": True, "basis": ""}, "fasting_solids_hours": None,
                    "fasting_clear_fluids_hours": None, "required_readings": PRE_CHECK_READINGS})
        pregnancy = context["pregnancy"]
        pregnancy_checks = [(value, text) for value, text in _options(PregnancyCheck)
                            if pregnancy["applicable"] is False or value != PregnancyCheck.NOT_APPLICABLE.value]
        return page("documentation/pre_check.html", status, errors=errors, values=values, session=view,
                    confirmations=CONFIRMATIONS, pregnancy_checks=pregnancy_checks, pregnancy=pregnancy,
                    fasting_times=FASTING_TIMES, fasting_solids_hours=context["fasting_solids_hours"],
                    fasting_clear_fluids_hours=context["fasting_clear_fluids_hours"],
                    required_readings=context["required_readings"],
                    new_reading_id=new_id(), latest_check=_latest_check(view), cssrs_rows=CSSRS_ROWS,
                    cssrs_done=bool(view["cssrs_screens"]), readiness_items=readiness_rows(view["site_readiness_items"]),
                    readiness_done=bool(latest and latest["site_readiness"]), review_decisions=REVIEW_DECISIONS)

    @ui.get("/ui/sessions/<session_id>/pre-check")
    @requires("Encounter", "r", **IN_CONTEXT)
    def pre_check_form(session_id: str):  # type: ignore[no-untyped-def]
        return pre_check_page(own_session(session_id))

    @ui.post("/ui/sessions/<session_id>/pre-check")
    @requires("Encounter", "u", **IN_CONTEXT)
    @requires("Observation", "c", **IN_CONTEXT)
    def pre_check(session_id: str):  # type: ignore[no-untyped-def]
        own_session(session_id)
        form = posted_form()
        try:
            with outcome_as_form_errors():
                answers = form.yes_no([f"confirmations.{name}" for name, _question in CONFIRMATIONS])
                fasting = fasting_times(form)
                reading = {name: form.optional(f"reading.{name}") for name in VITALS_FIELDS}
                reading["reading_id"] = form.optional("reading.reading_id")
                confirmations = {name.removeprefix("confirmations."): answer for name, answer in answers.items()}
                view = service.session(session_id)
                latest = view["pre_checks"][-1] if view["pre_checks"] else None
                service.pre_check(session_id, command(rm.PreCheck, {
                    "by": clinician(), "at": form.time("at"), "reading": reading,
                    "confirmations": {**confirmations, **fasting,
                                      "pregnancy_check": form.text("confirmations.pregnancy_check"),
                                      "findings": form.text("confirmations.findings")},
                    "cssrs": cssrs_answers(form, bool(view["cssrs_screens"])),
                    "site_readiness": readiness_answers(form, view["site_readiness_items"],
                                                        bool(latest and latest["site_readiness"]))}))
        except FormInvalid as error:
            return pre_check_page(service.session(session_id), error.status, error.issues, request.form)
        return done(".session_page", "pre-check", "next-step", session_id=session_id)

    # --- CADSS -----------------------------------------------------------------------------------------------------
    def cadss_page(view: dict[str, Any], form_value: str, status: int = 200,
                   errors: list[tuple[str, str]] | None = None, values: Any = None) -> tuple[str, int]:
        cadss_form = CadssForm(form_value) if form_value in _values(CadssForm) else CadssForm.SHORT
        return page("documentation/cadss.html", status, errors=errors, values=values, session=view,
                    cadss_form=cadss_form.value, items=cadss_form.items, max_total=cadss_form.max_total,
                    item_min=CADSS_ITEM_MIN_SCORE, item_max=CADSS_ITEM_MAX_SCORE, timepoints=_cadss_timepoints(view),
                    new_assessment_id=new_id())

    @ui.get("/ui/sessions/<session_id>/cadss")
    @requires("Observation", "r", **IN_CONTEXT)
    def cadss_form(session_id: str):  # type: ignore[no-untyped-def]
        return cadss_page(own_session(session_id), request.args.get("form", CadssForm.SHORT.value))

    @ui.post("/ui/sessions/<session_id>/cadss")
    @requires("Observation", "c", **IN_CONTEXT)
    def record_cadss(session_id: str):  # type: ignore[no-untyped-def]
        own_session(session_id)
        form = posted_form()
        chosen = form.text("form")
        try:
            with outcome_as_form_errors():
                count = len(CadssForm(chosen).items) if chosen in _values(CadssForm) else 0
                timepoint = form.text("timepoint")
                service.record_cadss(session_id, command(rm.RecordCadss, {
                    "by": clinician(), "at": form.time("at"), "form": chosen,
                    "assessment_id": form.optional("assessment_id"),
                    "item_scores": [form.optional(f"item_scores[{index}]") for index in range(count)],
                    "scheduled_minute": timepoint.removeprefix("minute:") if timepoint.startswith("minute:") else None,
                    "end_of_recovery": timepoint == "end-of-recovery"}))
        except FormInvalid as error:
            return cadss_page(service.session(session_id), chosen, error.status, error.issues, request.form)
        return done(".session_page", "cadss", "cadss", session_id=session_id)

    @ui.post("/ui/sessions/<session_id>/cadss/not-rated")
    @requires("Observation", "c", **IN_CONTEXT)
    def record_cadss_not_rated(session_id: str):  # type: ignore[no-untyped-def]
        own_session(session_id)
        form = posted_form()
        timepoint = form.text("timepoint")
        try:
            with outcome_as_form_errors("not-rated"):
                service.record_cadss_not_rated(session_id, command(rm.RecordCadssNotRated, {
                    "by": clinician(), "at": form.time("at"), "reason": form.text("reason"),
                    "scheduled_minute": timepoint.removeprefix("minute:") if timepoint.startswith("minute:") else None,
                    "end_of_recovery": timepoint == "end-of-recovery"}))
        except FormInvalid as error:
            return cadss_page(service.session(session_id), CadssForm.SHORT.value, error.status, error.issues,
                              request.form)
        return done(".session_page", "cadss-not-rated", "cadss", session_id=session_id)

    # --- adverse events --------------------------------------------------------------------------------------------
    def adverse_event_page(view: dict[str, Any], status: int = 200, errors: list[tuple[str, str]] | None = None,
                           values: Any = None) -> tuple[str, int]:
        editing = None
        if values is None and request.args.get("event_id"):
            editing = next((e for e in view["adverse_events"] if e["event_id"] == request.args["event_id"]), None)
            if editing:
                values = {**editing, "at": input_time(editing["onset_at"]),
                          "serious": "on" if editing["serious"] else ""}
        return page("documentation/adverse_event.html", status, errors=errors, values=values, session=view,
                    kinds=_options(AdverseEventKind), severities=_options(Severity),
                    outcomes=_options(AdverseEventOutcome), editing=editing, new_event_id=new_id())

    @ui.get("/ui/sessions/<session_id>/adverse-events")
    @requires("AdverseEvent", "r", **IN_CONTEXT)
    def adverse_event_form(session_id: str):  # type: ignore[no-untyped-def]
        return adverse_event_page(own_session(session_id))

    @ui.post("/ui/sessions/<session_id>/adverse-events")
    @requires("AdverseEvent", "cu", **IN_CONTEXT)
    def record_adverse_event(session_id: str):  # type: ignore[no-untyped-def]
        own_session(session_id)
        form = posted_form()
        try:
            with outcome_as_form_errors():
                service.record_adverse_event(session_id, command(rm.RecordAdverseEvent, {
                    "by": clinician(), "at": form.time("at"), "event_id": form.optional("event_id"),
                    "kind": form.text("kind"), "severity": form.text("severity"), "outcome": form.text("outcome"),
                    "description": form.text("description"), "action_taken": form.text("action_taken"),
                    "serious": form.checked("serious")}))
        except FormInvalid as error:
            return adverse_event_page(service.session(session_id), error.status, error.issues, request.form)
        return done(".session_page", "adverse-event", "adverse-events", session_id=session_id)

    # --- administration record -------------------------------------------------------------------------------------
    def administration_page(view: dict[str, Any], status: int = 200, errors: list[tuple[str, str]] | None = None,
                            values: Any = None) -> tuple[str, int]:
        recorded = view.get("administration")
        given = AdministrationRecord.from_dict(recorded) if recorded else None
        if values is None:
            values = (_administration_values(view, recorded, input_time) if recorded
                      else charted_values(view, input_time, EXTRA_RATE_ROWS, PAUSE_ROWS))
        return page("documentation/administration.html", status, errors=errors, values=values, session=view,
                    given=given, extra_rate_rows=range(1, EXTRA_RATE_ROWS + 1), pause_rows=range(PAUSE_ROWS),
                    can_record=view["status"] in ("recovering", "aborted") and view["summary"]["infusion_started_at"])

    @ui.get("/ui/sessions/<session_id>/administration")
    @requires("MedicationAdministration", "r", **IN_CONTEXT)
    def administration_form(session_id: str):  # type: ignore[no-untyped-def]
        return administration_page(own_session(session_id))

    @ui.post("/ui/sessions/<session_id>/administration")
    @requires("MedicationAdministration", "cu", **IN_CONTEXT)
    def record_administration(session_id: str):  # type: ignore[no-untyped-def]
        own_session(session_id)
        form = posted_form()
        try:
            with outcome_as_form_errors():
                service.record_administration(session_id, command(rm.RecordAdministration,
                                                                  _administration_body(form, clinician())))
        except FormInvalid as error:
            issues = [("started_at" if field == "rate_changes[0].at" else field, message)
                      for field, message in error.issues]
            return administration_page(service.session(session_id), error.status, issues, request.form)
        return done(".administration_form", "administration", "review", session_id=session_id)

    @ui.post("/ui/sessions/<session_id>/administration/review")
    @requires("MedicationAdministration", "u", **IN_CONTEXT)
    def review_administration(session_id: str):  # type: ignore[no-untyped-def]
        own_session(session_id)
        form = posted_form()
        try:
            with outcome_as_form_errors("review"):
                service.review_administration(session_id, command(rm.ReviewAdministration, {
                    "by": clinician(), "at": form.time("at"), "comment": form.text("comment")}))
        except FormInvalid as error:
            return administration_page(service.session(session_id), error.status, error.issues, request.form)
        return done(".session_page", "administration-reviewed", "next-step", session_id=session_id)

    # --- controlled substance --------------------------------------------------------------------------------------
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
    @requires("MedicationAdministration", "r", **IN_CONTEXT)
    def controlled_substance_form(session_id: str):  # type: ignore[no-untyped-def]
        return controlled_substance_page(own_session(session_id))

    @ui.post("/ui/sessions/<session_id>/controlled-substance")
    @requires("MedicationAdministration", "cu", **IN_CONTEXT)
    def record_controlled_substance(session_id: str):  # type: ignore[no-untyped-def]
        own_session(session_id)
        form = posted_form()
        context = launch_context()
        try:
            with outcome_as_form_errors():
                by_reference = fhir_user_reference(context.fhir_user) if context.fhir_user else ""
                service.record_controlled_substance(session_id, command(
                    rm.RecordControlledSubstance, controlled_substance_body(form, clinician(), by_reference)))
        except FormInvalid as error:
            return controlled_substance_page(service.session(session_id), error.status, error.issues, request.form)
        return done(".session_page", "controlled-substance", "controlled-substance", session_id=session_id)

    # --- discharge -------------------------------------------------------------------------------------------------
    def discharge_page(view: dict[str, Any], status: int = 200, errors: list[tuple[str, str]] | None = None,
                       values: Any = None, refused: list[str] | None = None) -> tuple[str, int]:
        return page("documentation/discharge.html", status, errors=errors, values=values, session=view,
                    aldrete_items=ALDRETE_ITEMS, aldrete_max=ALDRETE_ITEM_MAX_SCORE, refused=refused or [],
                    follow_up_outcomes=FOLLOW_UP_OUTCOMES)

    @ui.get("/ui/sessions/<session_id>/discharge")
    @requires("Encounter", "r", **IN_CONTEXT)
    def discharge_form(session_id: str):  # type: ignore[no-untyped-def]
        return discharge_page(own_session(session_id))

    @ui.post("/ui/sessions/<session_id>/discharge")
    @requires("Encounter", "u", **IN_CONTEXT)
    @requires("Procedure", "u", **IN_CONTEXT)
    def discharge(session_id: str):  # type: ignore[no-untyped-def]
        own_session(session_id)
        form = posted_form()
        try:
            with outcome_as_form_errors():
                answers = form.yes_no(["mental_status_at_baseline", "escort_present"])
                scores = {item: form.optional(f"aldrete.{item}") for item in ALDRETE_ITEMS}
                service.discharge(session_id, command(rm.Discharge, {
                    "by": clinician(), "at": form.time("at"), **answers,
                    "aldrete": scores if any(scores.values()) else None,
                    "override_reason": form.text("override_reason"),
                    "safety_plan_confirmed": form.checked("safety_plan_confirmed"), **discharge_extras(form)}))
        except FormInvalid as error:
            view = service.session(session_id)
            if error.refusal and view["status"] == "recovering":
                refusal = [message for _field, message in error.issues]
                return discharge_page(view, 409, values=request.form, refused=refusal)
            return discharge_page(view, error.status, error.issues, request.form)
        return done(".session_page", "discharged", "discharge", session_id=session_id)

    @ui.post("/ui/sessions/<session_id>/follow-up-call")
    @requires("Task", "u", **IN_CONTEXT)
    def complete_follow_up_call(session_id: str):  # type: ignore[no-untyped-def]
        own_session(session_id)
        form = posted_form()
        try:
            with outcome_as_form_errors("follow-up"):
                service.complete_follow_up_call(session_id, command(rm.CompleteFollowUpCall, {
                    "by": clinician(), "at": form.time("at"), "outcome": form.text("outcome"),
                    "note": form.text("note")}))
        except FormInvalid as error:
            return discharge_page(service.session(session_id), error.status, error.issues, request.form)
        return done(".discharge_form", "follow-up-call", "follow-up", session_id=session_id)

    # --- procedure note --------------------------------------------------------------------------------------------
    def note_page(session_id: str, status: int = 200, errors: list[tuple[str, str]] | None = None,
                  values: Any = None) -> tuple[str, int]:
        view = own_session(session_id)
        notes = service.notes(session_id)
        latest = notes[-1] if notes else None
        preview = None if latest else service.preview_note(session_id)
        return page("documentation/note.html", status, errors=errors, values=values, session=view, notes=notes,
                    latest=latest, preview=preview, can_draft=view["status"] in _ENDED)

    @ui.get("/ui/sessions/<session_id>/note")
    @requires("DocumentReference", "r", **IN_CONTEXT)
    def note(session_id: str):  # type: ignore[no-untyped-def]
        return note_page(session_id)

    @ui.post("/ui/sessions/<session_id>/note")
    @requires("DocumentReference", "c", **IN_CONTEXT)
    def draft_note(session_id: str):  # type: ignore[no-untyped-def]
        own_session(session_id)
        form = posted_form()
        try:
            with outcome_as_form_errors():
                service.draft_note(session_id, command(rm.DraftNote, {"by": clinician(), "at": form.time("at")}))
        except FormInvalid as error:
            return note_page(session_id, error.status, error.issues)
        return done(".note", "note-drafted", "note", session_id=session_id)

    @ui.post("/ui/notes/<note_id>")
    @requires("DocumentReference", "u", **IN_CONTEXT)
    def save_or_sign_note(note_id: str):  # type: ignore[no-untyped-def]
        """The draft's text is saved (when changed) and, with the sign button, signed as shown."""
        current = own_note(note_id)
        form = posted_form()
        text = form.multiline("text")
        signing = form.text("action") == "sign"
        if signing:  # only a prescriber signs (403 page otherwise), ticking the attestation
            require_prescriber(launch_context(), "sign a note")
            if form.text("attested") != "yes":
                return note_page(current["session_id"], 400, [("attested", "tick the attestation to sign")],
                                 request.form)
        try:
            with outcome_as_form_errors():
                if text.strip() != current["text"].strip():
                    service.edit_note(note_id, command(rm.EditNote, {"text": text}))
                if signing:
                    service.sign_note(note_id, command(rm.SignNote, {"by": clinician(), "at": form.time("at"),
                                                                     "attested": True}))
        except FormInvalid as error:
            return note_page(current["session_id"], error.status, error.issues, request.form)
        return done(".note", "note-signed" if signing else "note-saved", "note", session_id=current["session_id"])

    @ui.post("/ui/notes/<note_id>/amend")
    @requires("DocumentReference", "c", **IN_CONTEXT)
    def amend_note(note_id: str):  # type: ignore[no-untyped-def]
        current = own_note(note_id)
        form = posted_form()
        try:
            with outcome_as_form_errors():
                service.amend_note(note_id, command(rm.AmendNote, {"by": clinician(), "at": form.time("at"),
                                                                   "text": form.multiline("text")}))
        except FormInvalid as error:
            return note_page(current["session_id"], error.status, error.issues, request.form)
        return done(".note", "note-amended", "note", session_id=current["session_id"])

    return ui


# --- what the templates show ------------------------------------------------------------------------------------
def _status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    return None


def fasting_times(form: Form) -> dict[str, datetime]:
    """The last solid food and clear fluids times (24-hour clinic time): each required, never "now" when empty."""
    missing = [(f"confirmations.{name}", f"{label}: the time is required (ask the patient; 24-hour clinic time)")
               for name, label in FASTING_TIMES if not form.text(f"confirmations.{name}")]
    if missing:
        raise FormInvalid(missing)
    return {name: form.time(f"confirmations.{name}") for name, _label in FASTING_TIMES}  # type: ignore[misc]


def _options(enum_type: Any) -> list[tuple[str, str]]:
    return [(member.value, _words(member.value)) for member in enum_type]


def _values(enum_type: Any) -> tuple[str, ...]:
    return tuple(member.value for member in enum_type)


def _words(value: str) -> str:
    spaced = "".join(f" {ch.lower()}" if ch.isupper() else ch for ch in value).replace("-", " ")
    return spaced[:1].upper() + spaced[1:]


def _latest_check(view: dict[str, Any]) -> dict[str, Any] | None:
    if not view["pre_checks"]:
        return None
    attempt = view["pre_checks"][-1]
    label, style = PRE_CHECK_OUTCOMES[attempt["result"]["outcome"]]
    blocking = view["pre_check"]["blocking_reasons"] if view["pre_check"] else []
    return {**attempt, "label": label, "style": style, "blocking_reasons": blocking,
            "overridden": attempt["override"] is not None}


def _can_override(view: dict[str, Any]) -> bool:
    latest = view["pre_checks"][-1] if view["pre_checks"] else None
    return bool(view["status"] == "pre-check" and latest and latest["override"] is None
                and (latest["result"]["vital_sign_holds"] or latest["result"]["recheck_reasons"]))


def _alerts_by_reading(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {alert["reading_id"]: alert for alert in view["alerts"]}


def _flowsheet_rows(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Readings and the due or missed reading times, in time order, each with its phase."""
    infusion_end = next((_as_datetime(t["at"]) for t in view["transitions"] if t["from_status"] == "infusing"),
                        None)
    alerts = _alerts_by_reading(view)
    rows: list[dict[str, Any]] = []
    for reading in view["readings"]:
        moment = _as_datetime(reading["measured_at"])
        phase = "recovery" if infusion_end and moment and moment >= infusion_end else "infusion"
        rows.append({"kind": "reading", "at": moment, "phase": phase, "reading": reading,
                     "alert": alerts.get(reading["reading_id"])})
    for due in view["due_readings"]:
        rows.append({"kind": due["state"], "at": _as_datetime(due["due_at"]), "phase": due["phase"]})
    return sorted(rows, key=lambda row: row["at"])


def _cadss_timepoints(view: dict[str, Any]) -> list[tuple[str, str]]:
    """The due timepoints first (the first one is preselected), then an unscheduled rating, then one a discharge now
    would need (the end of recovery before the minimum observation time; never preselected)."""
    def key(due: dict[str, Any]) -> str:
        return "end-of-recovery" if due["end_of_recovery"] else f"minute:{due['scheduled_minute']}"

    options = [(key(due), f"{due['label']} (due)") for due in view["due_cadss"]]
    early = [(key(due), f"{due['label']} (for an early discharge)") for due in view.get("cadss_due_at_discharge", [])
             if key(due) not in {value for value, _label in options}]
    return options + [("unscheduled", "Unscheduled rating")] + early


def _administration_values(view: dict[str, Any], recorded: dict[str, Any] | None,
                           input_time: Callable[[Any], str]) -> dict[str, str]:
    """The form's starting values: the record to correct, or the session's own start/end and the ordered rate."""
    if recorded:
        values = {"started_at": input_time(recorded["started_at"]), "stopped_at": input_time(recorded["stopped_at"]),
                  "lot_number": recorded["lot_number"], "lot_expiry": recorded["lot_expiry"],
                  "dose_discrepancy_reason": recorded["dose_discrepancy_reason"]}
        for name in ("concentration_mg_per_ml", "entered_total_ml", "entered_total_mg"):
            values[name] = "" if recorded[name] is None else _number_text(recorded[name])
        for index, change in enumerate(recorded["rate_changes"]):
            values[f"rate_changes[{index}].rate_ml_per_h"] = _number_text(change["rate_ml_per_h"])
            if index:
                values[f"rate_changes[{index}].at"] = input_time(change["at"])
        for index, pause in enumerate(recorded["pauses"]):
            values[f"pauses[{index}].paused_at"] = input_time(pause["paused_at"])
            values[f"pauses[{index}].resumed_at"] = input_time(pause["resumed_at"])
            values[f"pauses[{index}].reason"] = pause["reason"]
        return values
    infusion_end = next((t["at"] for t in view["transitions"] if t["from_status"] == "infusing"), None)
    return {"started_at": input_time(view["summary"]["infusion_started_at"]), "stopped_at": input_time(infusion_end),
            "rate_changes[0].rate_ml_per_h": _number_text(view["order"]["rate_ml_per_h"])}


def _administration_body(form: Form, by: str) -> dict[str, Any]:
    started_at = form.required_time("started_at")
    rate_changes = [{"at": started_at, "rate_ml_per_h": form.optional("rate_changes[0].rate_ml_per_h")}]
    for index in range(1, EXTRA_RATE_ROWS + 1):
        at, rate = form.text(f"rate_changes[{index}].at"), form.optional(f"rate_changes[{index}].rate_ml_per_h")
        if at or rate:
            rate_changes.append({"at": form.time(f"rate_changes[{index}].at"), "rate_ml_per_h": rate})
    pauses = []
    for index in range(PAUSE_ROWS):
        names = [f"pauses[{index}].{part}" for part in ("paused_at", "resumed_at", "reason")]
        if any(form.text(name) for name in names):
            pauses.append({"paused_at": form.time(names[0]), "resumed_at": form.time(names[1]),
                           "reason": form.text(names[2])})
    return {"by": by, "started_at": started_at, "stopped_at": form.required_time("stopped_at"),
            "rate_changes": rate_changes, "pauses": pauses, "lot_number": form.text("lot_number"),
            "lot_expiry": form.day("lot_expiry"),
            "concentration_mg_per_ml": form.optional("concentration_mg_per_ml"),
            "entered_total_ml": form.optional("entered_total_ml"),
            "entered_total_mg": form.optional("entered_total_mg"),
            "dose_discrepancy_reason": form.text("dose_discrepancy_reason")}


def _number_text(value: float | int) -> str:
    return f"{value:g}"
