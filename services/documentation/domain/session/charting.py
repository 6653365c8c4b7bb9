"""Charting during the session: vital signs and their alerts, the action on an alert, pump changes, flowsheet
events, CADSS ratings (or why one was not rated) and adverse events."""

from __future__ import annotations

from dataclasses import replace

from services.documentation.domain.adverse_events import AdverseEventRecord
from services.documentation.domain.cadss import CadssAssessment, CadssNotRated
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed, input_field
from services.documentation.domain.flowsheet import (
    AlertAction,
    AlertActionKind,
    FlowsheetEvent,
    alert_for_reading,
)
from services.documentation.domain.pump import (
    PumpChange,
    PumpChangeKind,
    check_new_change,
)
from services.documentation.domain.plausibility import require_in_session, require_plausible_reading
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.vitals import VitalsReading

from services.documentation.domain.session.model import (
    DOCUMENTABLE, Session, SessionStatus, require_status, upsert,
)

_PUMP_CHANGE_OF_ACTION = {
    AlertActionKind.RATE_REDUCED: PumpChangeKind.RATE_CHANGE,
    AlertActionKind.PAUSED: PumpChangeKind.PAUSE,
    AlertActionKind.STOPPED: PumpChangeKind.STOP,
}


def record_vitals(session: Session, reading: VitalsReading, settings: SessionSettings) -> Session:
    """Add a flowsheet reading and raise an alert if it crosses an alert threshold.

    Recording the same reading again (a redelivered device message) changes nothing; the same id with other
    values is refused.
    """
    require_status(session, DOCUMENTABLE, "record vitals for")
    existing = session.reading(reading.reading_id)
    if existing is not None:
        if existing == reading:
            return session
        raise DocumentationInputError("reading.reading_id", f"reading {reading.reading_id} already recorded")
    require_plausible_reading(reading, settings)
    require_in_session("measured_at", reading.measured_at, session.time_floor(settings))
    readings = tuple(sorted(session.readings + (reading,), key=lambda r: r.measured_at))
    alert = alert_for_reading(reading, settings)
    return replace(session, readings=readings, alerts=session.alerts + ((alert,) if alert else ()))


def record_action(session: Session, alert_id: str, action: AlertAction) -> Session:
    """Record what was done about an alert, which closes it."""
    require_status(session, DOCUMENTABLE, "record an alert action for")
    index = next((i for i, alert in enumerate(session.alerts) if alert.alert_id == alert_id), None)
    if index is None:
        raise DocumentationInputError("alert_id", f"no alert {alert_id} in this session")
    alert = session.alerts[index]
    if not alert.is_open:
        raise TransitionNotAllowed(f"alert {alert_id} already has an action ({alert.action.describe()})")  # type: ignore[union-attr]
    with input_field("action"):
        action.require_complete()
        answered = alert.with_action(action)
    updated = replace(session, alerts=session.alerts[:index] + (answered,) + session.alerts[index + 1 :])
    pump_kind = _PUMP_CHANGE_OF_ACTION.get(action.kind)
    ended_at = session.infusion_ended_at
    if pump_kind is None or (ended_at is not None and action.taken_at >= ended_at):
        if action.kind is AlertActionKind.RATE_REDUCED:
            raise DocumentationInputError("kind", "the infusion has ended: there is no pump rate to reduce")
        return updated
    change = PumpChange(
        change_id=f"{alert_id}-action", kind=pump_kind, at=action.taken_at, recorded_by=action.taken_by,
        rate_ml_per_h=action.rate_ml_per_h, reason=f"alert: {'; '.join(alert.crossings)}", alert_id=alert_id,
    )
    return record_pump_change(updated, change)


def record_pump_change(session: Session, change: PumpChange) -> Session:
    """A rate change, pause, resumption or stop of the pump during the infusion, charted on the flowsheet or as
    an alert's action; the administration record's segments and the dose given follow it."""
    require_status(session, (SessionStatus.INFUSING, SessionStatus.RECOVERING, SessionStatus.ABORTED),
                    "chart a pump change for")
    ended_at = session.infusion_ended_at
    if ended_at is not None and change.at >= ended_at:
        raise DocumentationInputError("at", "after the infusion ended")
    existing = next((c for c in session.pump_changes if c.change_id == change.change_id), None)
    if existing is not None:
        if existing == change:
            return session
        raise DocumentationInputError("change_id", f"pump change {change.change_id} already recorded")
    check_new_change(change, session.infusion_started_at, session.pump_changes)
    changes = tuple(sorted(session.pump_changes + (change,), key=lambda c: c.at))
    return replace(session, pump_changes=changes)


def record_event(session: Session, event: FlowsheetEvent, settings: SessionSettings | None = None) -> Session:
    """With ``settings``, the event's time must lie within the session (issue 13 defect 24)."""
    require_status(session, DOCUMENTABLE, "record an event for")
    if settings is not None:
        require_in_session("occurred_at", event.occurred_at, session.time_floor(settings))
    return replace(session, events=upsert(session.events, event, "event_id"))


def record_cadss(session: Session, assessment: CadssAssessment, settings: SessionSettings) -> Session:
    """Add a CADSS rating taken after the infusion started; a scheduled minute must be one the clinic set, and
    each timepoint is rated once (an extra rating is recorded as unscheduled)."""
    require_status(session, DOCUMENTABLE, "record a CADSS rating for")
    started_at = session.infusion_started_at
    if started_at is None:
        raise TransitionNotAllowed("CADSS is rated once the infusion has started")
    if assessment.assessed_at < started_at:
        raise DocumentationInputError("cadss.assessed_at", "before the infusion started")
    if (
        assessment.scheduled_minute is not None
        and assessment.scheduled_minute not in settings.cadss_minutes_after_start
    ):
        configured = ", ".join(str(m) for m in settings.cadss_minutes_after_start)
        raise DocumentationInputError(
            "cadss.scheduled_minute", f"{assessment.scheduled_minute} is not a configured time ({configured} min)"
        )
    if assessment.end_of_recovery and session.infusion_ended_at is None:
        raise DocumentationInputError("cadss.end_of_recovery", "the infusion has not ended")
    for other in session.cadss:
        same_timepoint = (
            assessment.scheduled_minute is not None and other.scheduled_minute == assessment.scheduled_minute
        ) or (assessment.end_of_recovery and other.end_of_recovery)
        if same_timepoint and other.assessment_id != assessment.assessment_id:
            raise DocumentationInputError(
                "cadss.assessment_id", f"{assessment.timepoint_text()} already rated ({other.assessment_id})"
            )
    return replace(session, cadss=upsert(session.cadss, assessment, "assessment_id"))


def record_cadss_not_rated(session: Session, not_rated: CadssNotRated, settings: SessionSettings) -> Session:
    """Why a scheduled CADSS timepoint was not rated (it then no longer holds discharge; the note lists it)."""
    require_status(session, DOCUMENTABLE, "record an unrated CADSS timepoint for")
    if session.infusion_started_at is None:
        raise TransitionNotAllowed("CADSS is rated once the infusion has started")
    if not_rated.scheduled_minute is not None and not_rated.scheduled_minute not in settings.cadss_minutes_after_start:
        configured = ", ".join(str(m) for m in settings.cadss_minutes_after_start)
        raise DocumentationInputError(
            "scheduled_minute", f"{not_rated.scheduled_minute} is not a configured time ({configured} min)"
        )
    if not_rated.end_of_recovery and not settings.cadss_at_end_of_recovery:
        raise DocumentationInputError("end_of_recovery", "the clinic does not rate CADSS at the end of recovery")
    if any(a.scheduled_minute == not_rated.scheduled_minute if not_rated.scheduled_minute is not None
           else a.end_of_recovery for a in session.cadss):
        raise DocumentationInputError("scheduled_minute", f"{not_rated.timepoint_text()} is already rated")
    others = tuple(n for n in session.cadss_not_rated
                   if not n.same_timepoint(not_rated.scheduled_minute, not_rated.end_of_recovery))
    return replace(session, cadss_not_rated=others + (not_rated,))


def record_adverse_event(session: Session, event: AdverseEventRecord,
                         settings: SessionSettings | None = None) -> Session:
    """Add an adverse event, or update one recorded earlier with the same id (e.g. its outcome); with
    ``settings``, its onset must lie within the session (issue 13 defect 24)."""
    require_status(session, DOCUMENTABLE, "record an adverse event for")
    if settings is not None:
        require_in_session("onset_at", event.onset_at, session.time_floor(settings))
    return replace(session, adverse_events=upsert(session.adverse_events, event, "event_id"))
