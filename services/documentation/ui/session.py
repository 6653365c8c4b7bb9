"""The session page: the flowsheet with each step's form (check-in and its override, the hold override, the
suicide-risk review, start, end, defer, abort, vital signs and the action on an alert, pump changes, events)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import redirect, request, url_for
from flask.typing import ResponseReturnValue

from services.documentation import commands as c
from services.documentation.access import IN_SESSION, service
from services.documentation.domain.flowsheet import AlertActionKind
from services.documentation.domain.pump import PumpChangeKind
from services.documentation.domain.rescue import RescueDoseUnit, RescueRoute
from services.documentation.domain.spacing import ScheduleRefused
from services.documentation.domain.suicide_risk import ReviewDecision
from services.documentation.domain.vitals import VitalsReading
from services.documentation.domain.vitals import missing_chair_measures
from services.documentation.handlers import Recorded, new_id
from services.documentation.ui.forms import (
    Form, FormInvalid, alert_action_body, field_labels, outcome_as_form_errors, submit,
)
from services.documentation.ui.pages import (
    ENDED, PRE_CHECK_OUTCOMES, as_datetime, clinic_time, clinic_zone, clinician, done, input_time, options,
    own_session, page, post_form, posted_form, session_view, ui,
)
from services.documentation.ui.status_strip import countdown_text, status_strip_settings, strip_view
from shared.roles import require_prescriber
from shared.smart import requires
from shared.ui import launch_context

_DOCUMENTABLE = ("checked-in", "pre-check", "infusing", "recovering", "aborted")
_AT_CLINIC = ("checked-in", "pre-check", "infusing", "recovering")
_BEFORE_INFUSION = ("scheduled", "checked-in", "pre-check")
VITALS_FIELDS = ("systolic_mmhg", "diastolic_mmhg", "heart_rate_per_min", "spo2_percent", "respiratory_rate_per_min",
                 "rass_score")
CONFIRMED = "yes"  # the End form's second step: ``confirmed=yes`` is sent only from the confirmation panel
RESCUE_ROUTES = [(route.value, route.value.capitalize()) for route in RescueRoute]
RESCUE_UNITS = [(RescueDoseUnit.MILLIGRAM.value, "mg"), (RescueDoseUnit.MICROGRAM.value, "micrograms")]
REVIEW_DECISIONS = (
    (ReviewDecision.PROCEED.value, "Proceed with the infusion today"),
    (ReviewDecision.DO_NOT_PROCEED.value, "Do not proceed (defer or abort the session)"),
)


def flowsheet(view: dict[str, Any], status: int = 200, errors: list[tuple[str, str]] | None = None,
              form_name: str = "", values: Any = None,
              schedule_refusal: tuple[str, ...] = (), confirm_end: str | None = None) -> tuple[str, int]:
    """``schedule_refusal``: the window/interval rules that refused a check-in just now (the override form);
    ``confirm_end``: the pump stop time typed (empty: now) when the page asks to confirm ending the infusion."""
    errors = [(_vitals_key(field), message) for field, message in errors or []]
    strip = strip_view(view, clinic_zone(), service().settings.min_recovery_observation_min)
    return page("documentation/session.html", status, errors=errors, form_name=form_name, values=values,
                schedule_refusal=schedule_refusal, confirm_end=confirm_end,
                field_labels=field_labels(field for field, _message in errors),
                strip=strip, strip_countdown=countdown_text(strip["next_reading_in_s"]),
                status_poll_seconds=status_strip_settings().refresh_s, now_input=input_time(view["as_of"]),
                open_alerts=[alert for alert in view["alerts"] if not alert["action"]],
                session=view, rows=_flowsheet_rows(view), latest_check=latest_check(view),
                can_override=_can_override(view), alerts_by_reading=_alerts_by_reading(view),
                new_reading_id=new_id(), new_event_id=new_id(), alert_kinds=options(AlertActionKind),
                documentable=view["status"] in _DOCUMENTABLE, at_clinic=view["status"] in _AT_CLINIC,
                before_infusion=view["status"] in _BEFORE_INFUSION, ended=view["status"] in ENDED,
                review_decisions=REVIEW_DECISIONS, rescue_routes=RESCUE_ROUTES, rescue_units=RESCUE_UNITS,
                pump_kinds=options(PumpChangeKind),
                vitals_fields=VITALS_FIELDS)


@ui.get("/ui/sessions/<session_id>")
@requires("Encounter", "r", **IN_SESSION)
def session_page(session_id: str) -> ResponseReturnValue:
    """``?confirm=end&at=…`` (the End form, a GET): the same page asking to confirm ending the infusion; nothing is
    recorded until the confirmation is posted."""
    view = own_session(session_id)
    asking = request.args.get("confirm") == "end" and view["status"] == "infusing"
    return flowsheet(view, confirm_end=request.args.get("at", "").strip() if asking else None)


def _vitals_key(field: str) -> str:
    """The domain names a reading's fields ``reading.<measure>``: on the vitals form they are ``vitals.<measure>``,
    so the message sits next to the input and the summary links to it."""
    return field.replace("vitals.reading.", "vitals.", 1)


def step(session_id: str, form_name: str, run: Callable[[Form, str], Any], notice: str | Callable[[Any], str],
         anchor: str | None = None) -> ResponseReturnValue:
    """One step posted from the flowsheet (``run`` with the form and who charts): then back to the flowsheet, or
    the flowsheet again with the errors next to the fields of the form that was sent (``form_name``)."""
    return post_form(session_id, lambda form: run(form, clinician()),
                     lambda view, error: flowsheet(view, error.status, error.issues, form_name, request.form),
                     ".session_page", notice, anchor, prefix=form_name)


def _check_in_step(session_id: str, form_name: str, override: bool) -> ResponseReturnValue:
    """Check in, or (``override``) check in setting the window and interval rules aside with the posted reason.
    A refusal by those rules shows its reasons and the override form (``schedule_refusal``)."""
    own_session(session_id)
    form = posted_form()
    refused: tuple[str, ...] = ()
    try:
        with outcome_as_form_errors(form_name):
            by = clinician()
            values: dict[str, Any] = {"by": by, "at": form.time("at"), "chair": form.text("chair") or None}
            if override:
                if not form.text("reason"):
                    raise FormInvalid([("reason", "the reason for the override is required")])
                values |= {"override_reason": form.text("reason")}
            try:
                submit(lambda body: service().check_in(session_id, body), c.CheckIn, values)
            except ScheduleRefused as error:
                refused = error.failing
                raise
    except FormInvalid as error:
        return flowsheet(session_view(session_id), error.status, error.issues, form_name, request.form,
                         schedule_refusal=refused)
    return done(".session_page", "checked-in", session_id=session_id)


@ui.post("/ui/sessions/<session_id>/check-in")
@requires("Encounter", "u", **IN_SESSION)
def check_in(session_id: str) -> ResponseReturnValue:
    return _check_in_step(session_id, "check_in", override=False)


@ui.post("/ui/sessions/<session_id>/check-in/override")
@requires("Encounter", "u", **IN_SESSION)
def check_in_override(session_id: str) -> ResponseReturnValue:
    """A prescriber checks in outside the window or sooner than the minimum interval, with a reason (issue 13
    defect 6). The role comes from the EHR (``require_prescriber``, as the API): a nurse gets the refusal page
    (403). The overrider is the signed-in clinician, never a typed name."""
    own_session(session_id)
    require_prescriber(launch_context(), "override an infusion's window or minimum interval")
    return _check_in_step(session_id, "check_in_override", override=True)


@ui.post("/ui/sessions/<session_id>/override")
@requires("Encounter", "u", **IN_SESSION)
def override_hold(session_id: str) -> ResponseReturnValue:
    return step(session_id, "override", lambda form, by: submit(
        lambda body: service().override_hold(session_id, body), c.HoldOverride,
        {"by": by, "at": form.time("at"), "reason": form.text("reason")}), "override")


@ui.post("/ui/sessions/<session_id>/suicide-risk-review")
@requires("Encounter", "u", **IN_SESSION)
def review_suicide_risk(session_id: str) -> ResponseReturnValue:
    """Who reviewed is the signed-in clinician (the launch's fhirUser), never a typed name."""
    return step(session_id, "review", lambda form, by: submit(
        lambda body: service().review_suicide_risk(session_id, body), c.SuicideRiskReview,
        {"by": by, "at": form.time("at"), "decision": form.text("decision"), "note": form.text("note")}),
        "suicide-risk-review", "next-step")


@ui.post("/ui/sessions/<session_id>/start")
@requires("Encounter", "u", **IN_SESSION)
@requires("Procedure", "c", **IN_SESSION)
def start_infusion(session_id: str) -> ResponseReturnValue:
    return step(session_id, "start", lambda form, by: submit(
        lambda body: service().start_infusion(session_id, body), c.StartInfusion,
        {"by": by, "at": form.time("at")}), "started")


@ui.post("/ui/sessions/<session_id>/end")
@requires("Procedure", "u", **IN_SESSION)
def end_infusion(session_id: str) -> ResponseReturnValue:
    """Only from the confirmation panel (``confirmed=yes``); a post without it is sent to that panel, so an
    infusion is never ended by one stray click or Enter."""
    if request.form.get("confirmed") != CONFIRMED:
        own_session(session_id)
        return redirect(url_for(".session_page", session_id=session_id, confirm="end",
                                at=request.form.get("at", "").strip(), _anchor="next-step"), code=303)
    return step(session_id, "end", lambda form, by: submit(
        lambda body: service().end_infusion(session_id, body), c.EndInfusion,
        {"by": by, "at": form.time("at")}), "ended")


@ui.post("/ui/sessions/<session_id>/defer")
@requires("Encounter", "u", **IN_SESSION)
def defer(session_id: str) -> ResponseReturnValue:
    return step(session_id, "defer", lambda form, by: submit(
        lambda body: service().defer(session_id, body), c.Defer,
        {"by": by, "at": form.time("at"), "reason": form.text("reason")}), "deferred")


@ui.post("/ui/sessions/<session_id>/abort")
@requires("Encounter", "u", **IN_SESSION)
@requires("Procedure", "u", **IN_SESSION)
def abort(session_id: str) -> ResponseReturnValue:
    return step(session_id, "abort", lambda form, by: submit(
        lambda body: service().abort(session_id, body), c.Abort,
        {"by": by, "at": form.time("at"), "reason": form.text("reason")}), "aborted")


@ui.post("/ui/sessions/<session_id>/vitals")
@requires("Observation", "c", **IN_SESSION)
def record_vitals(session_id: str) -> ResponseReturnValue:
    """A reading at the chair: BP, heart rate and SpO2 together (``missing_chair_measures``). A form whose reading
    id is already charted (sent twice, or kept from before a save) is refused; the page then offers a fresh one.
    The time left as prefilled (``at_prefilled``) means now, so a page left open does not chart an old time."""
    stale: list[bool] = []

    def run(form: Form, by: str) -> Recorded[VitalsReading]:
        values = {name: form.optional(name) for name in VITALS_FIELDS}
        missing = missing_chair_measures(values)
        if missing:
            raise FormInvalid([(name, "required: blood pressure, heart rate and SpO2 are charted together")
                               for name in missing])
        reading_id = form.optional("reading_id")
        charted = next((r for r in session_view(session_id)["readings"] if r["reading_id"] == reading_id), None)
        if charted:
            stale.append(True)
            raise FormInvalid([("", f"This form was already sent: its reading "
                                    f"({clinic_time(charted['measured_at'], '%H:%M')}) is on the flowsheet and was "
                                    "not charted again. Enter a new reading in the fresh form.")], 409)
        untouched = form.text("at") and form.text("at") == form.text("at_prefilled")
        return submit(lambda body: service().record_vitals(session_id, body), c.RecordVitals, {
            "by": by, "at": None if untouched else form.time("at"), "reading_id": reading_id, **values})

    def notice(recorded: Recorded[VitalsReading]) -> str:
        raised = recorded.state.session.alert_for(recorded.record.reading_id)
        return "vitals-alert" if raised else "vitals"

    def again(view: dict[str, Any], error: FormInvalid) -> ResponseReturnValue:
        values = {name: value for name, value in request.form.items() if not (stale and name == "reading_id")}
        return flowsheet(view, error.status, error.issues, "vitals", values)

    return post_form(session_id, lambda form: run(form, clinician()), again, ".session_page", notice, "flowsheet",
                     prefix="vitals")


@ui.post("/ui/sessions/<session_id>/alerts/<alert_id>/action")
@requires("Flag", "u", **IN_SESSION)
def record_alert_action(session_id: str, alert_id: str) -> ResponseReturnValue:
    return step(session_id, f"alert-{alert_id}", lambda form, by: submit(
        lambda body: service().record_alert_action(session_id, alert_id, body), c.RecordAlertAction,
        alert_action_body(form, by)), "alert-action", "alerts")


@ui.post("/ui/sessions/<session_id>/pump-changes")
@requires("MedicationAdministration", "cu", **IN_SESSION)
def record_pump_change(session_id: str) -> ResponseReturnValue:
    return step(session_id, "pump", lambda form, by: submit(
        lambda body: service().record_pump_change(session_id, body), c.RecordPumpChange,
        {"by": by, "at": form.time("at"), "kind": form.text("kind"), "rate_ml_per_h": form.optional("rate_ml_per_h"),
         "reason": form.text("reason")}), "pump-change", "next-step")


@ui.post("/ui/sessions/<session_id>/events")
@requires("Encounter", "u", **IN_SESSION)
def record_event(session_id: str) -> ResponseReturnValue:
    return step(session_id, "event", lambda form, by: submit(
        lambda body: service().record_event(session_id, body), c.RecordFlowsheetEvent,
        {"by": by, "at": form.time("at"), "text": form.text("text"), "event_id": form.optional("event_id")}),
        "event", "events")


# --- what the flowsheet shows -----------------------------------------------------------------------------------------
def latest_check(view: dict[str, Any]) -> dict[str, Any] | None:
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
    infusion_end = next((as_datetime(t["at"]) for t in view["transitions"] if t["from_status"] == "infusing"),
                        None)
    alerts = _alerts_by_reading(view)
    rows: list[dict[str, Any]] = []
    for reading in view["readings"]:
        moment = as_datetime(reading["measured_at"])
        phase = "recovery" if infusion_end and moment and moment >= infusion_end else "infusion"
        rows.append({"kind": "reading", "at": moment, "phase": phase, "reading": reading,
                     "alert": alerts.get(reading["reading_id"])})
    for due in view["due_readings"]:
        rows.append({"kind": due["state"], "at": as_datetime(due["due_at"]), "phase": due["phase"]})
    return sorted(rows, key=lambda row: row["at"])
