"""One infusion session for one scheduled occurrence of an active order, and every action on it.

scheduled → checked-in → pre-check → infusing → recovering → discharged, or deferred (before the infusion) /
aborted (from check-in on) / cancelled (still scheduled when its order or occurrence was cancelled). Each function
validates everything first and returns a new Session (records are frozen); a step the session's state does not
allow raises ``TransitionNotAllowed`` with the reason.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from services.documentation.domain.administration import AdministrationRecord, complete_against_order
from services.documentation.domain.adverse_events import AdverseEventRecord
from services.documentation.domain.cadss import CadssAssessment
from services.documentation.domain.checks import require_aware, require_text
from services.documentation.domain.discharge import DischargeAssessment, DischargeRecord, evaluate_discharge
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed, input_field
from services.documentation.domain.flowsheet import AlertAction, FlowsheetEvent, VitalsAlert, alert_for_reading
from services.documentation.domain.order import ActiveOrder, OccurrenceStatus, OrderStatus
from services.documentation.domain.pre_check import (
    HoldOverride,
    PreCheckAttempt,
    PreCheckConfirmations,
    evaluate_pre_check,
    require_complete_pre_check_reading,
)
from services.documentation.domain.records import DocumentationRecord
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.spacing import ScheduleOverride, allowed_start, schedule_problems
from services.documentation.domain.vitals import VitalsReading

T = TypeVar("T")


class SessionStatus(enum.Enum):
    SCHEDULED = "scheduled"
    CHECKED_IN = "checked-in"
    PRE_CHECK = "pre-check"
    INFUSING = "infusing"
    RECOVERING = "recovering"
    DISCHARGED = "discharged"
    ABORTED = "aborted"
    DEFERRED = "deferred"
    CANCELLED = "cancelled"  # never started: its order (or this occurrence of it) was cancelled


ENDED_STATUSES = frozenset(
    {SessionStatus.DISCHARGED, SessionStatus.ABORTED, SessionStatus.DEFERRED, SessionStatus.CANCELLED}
)
_AT_CLINIC = (SessionStatus.CHECKED_IN, SessionStatus.PRE_CHECK, SessionStatus.INFUSING, SessionStatus.RECOVERING)
# Documentation goes on after an abort (the patient is still observed); a discharged session is closed.
_DOCUMENTABLE = _AT_CLINIC + (SessionStatus.ABORTED,)


@dataclass(frozen=True)
class Transition(DocumentationRecord):
    from_status: SessionStatus
    to_status: SessionStatus
    at: datetime
    by: str
    reason: str = ""


@dataclass(frozen=True)
class Session(DocumentationRecord):
    session_id: str
    order_id: str
    series_id: str
    patient_id: str
    occurrence_number: int
    scheduled_start: datetime
    scheduled_end: datetime
    status: SessionStatus = SessionStatus.SCHEDULED
    transitions: tuple[Transition, ...] = ()
    pre_checks: tuple[PreCheckAttempt, ...] = ()
    readings: tuple[VitalsReading, ...] = ()
    alerts: tuple[VitalsAlert, ...] = ()
    events: tuple[FlowsheetEvent, ...] = ()
    cadss: tuple[CadssAssessment, ...] = ()
    adverse_events: tuple[AdverseEventRecord, ...] = ()
    administration: AdministrationRecord | None = None
    discharge_record: DischargeRecord | None = None
    # A prescriber's decision to check in outside the window or too soon after the previous infusion (defect 6).
    check_in_override: ScheduleOverride | None = None

    def __post_init__(self) -> None:
        for name in ("session_id", "order_id", "series_id", "patient_id"):
            require_text(name, getattr(self, name))
        require_aware("scheduled_start", self.scheduled_start)
        require_aware("scheduled_end", self.scheduled_end)

    def transition_to(self, status: SessionStatus) -> Transition | None:
        """The last transition into ``status``, if the session went there."""
        return next((t for t in reversed(self.transitions) if t.to_status is status), None)

    @property
    def checked_in_at(self) -> datetime | None:
        transition = self.transition_to(SessionStatus.CHECKED_IN)
        return transition.at if transition else None

    @property
    def infusion_started_at(self) -> datetime | None:
        transition = self.transition_to(SessionStatus.INFUSING)
        return transition.at if transition else None

    @property
    def infusion_ended_at(self) -> datetime | None:
        """When the infusion ended: its end, or an abort while infusing."""
        for transition in self.transitions:
            if transition.from_status is SessionStatus.INFUSING:
                return transition.at
        return None

    @property
    def ended_at(self) -> datetime | None:
        last = self.transitions[-1] if self.transitions else None
        return last.at if last and last.to_status in ENDED_STATUSES else None

    @property
    def end_reason(self) -> str:
        last = self.transitions[-1] if self.transitions else None
        return last.reason if last and last.to_status in ENDED_STATUSES else ""

    @property
    def latest_pre_check(self) -> PreCheckAttempt | None:
        return self.pre_checks[-1] if self.pre_checks else None

    @property
    def baseline_reading(self) -> VitalsReading | None:
        """The pre-infusion reading the discharge vitals are compared with: that of the last pre-check."""
        return self.pre_checks[-1].reading if self.pre_checks else None

    @property
    def open_alerts(self) -> tuple[VitalsAlert, ...]:
        return tuple(alert for alert in self.alerts if alert.is_open)

    def alert_for(self, reading_id: str) -> VitalsAlert | None:
        """The alert a reading raised, if any (the glue publishes ``alert-raised`` for it)."""
        return next((alert for alert in self.alerts if alert.reading_id == reading_id), None)

    def reading(self, reading_id: str) -> VitalsReading | None:
        return next((r for r in self.readings if r.reading_id == reading_id), None)


def session_id_for(order: ActiveOrder, occurrence_number: int) -> str:
    """``{order_id}-{number}``: a redelivered or repeated order event names the same session, never a second one."""
    return f"{order.order_id}-{occurrence_number}"


def create_session(order: ActiveOrder, occurrence_number: int) -> Session:
    """The session for one scheduled occurrence (id from ``session_id_for``)."""
    occurrence = order.occurrence(occurrence_number)
    if occurrence.status is not OccurrenceStatus.SCHEDULED:
        raise TransitionNotAllowed(
            f"infusion {occurrence_number} of order {order.order_id} is {occurrence.status.value}"
        )
    return Session(
        session_id=session_id_for(order, occurrence.number),
        order_id=order.order_id,
        series_id=order.series_id,
        patient_id=order.patient_id,
        occurrence_number=occurrence.number,
        scheduled_start=occurrence.window_start,
        scheduled_end=occurrence.window_end,
    )


def sessions_for_order(order: ActiveOrder) -> tuple[Session, ...]:
    """A session for every occurrence still scheduled (completed or cancelled ones get none)."""
    return tuple(
        create_session(order, occurrence.number)
        for occurrence in order.occurrences
        if occurrence.status is OccurrenceStatus.SCHEDULED
    )


def apply_order_update(session: Session, order: ActiveOrder) -> Session:
    """Take a changed order's scheduled window for a session not yet started; later sessions keep their history."""
    _require_order(session, order, must_be_active=False)
    if session.status is not SessionStatus.SCHEDULED:
        return session
    occurrence = order.occurrence(session.occurrence_number)
    return replace(session, scheduled_start=occurrence.window_start, scheduled_end=occurrence.window_end)


def check_in(session: Session, order: ActiveOrder, by: str, at: datetime, settings: SessionSettings | None = None,
             previous_infusion_at: datetime | None = None, override_reason: str = "",
             override_by: str = "") -> Session:
    """The patient is here. Refused (with every reason) outside the session's window or sooner than the clinic's
    minimum interval after ``previous_infusion_at`` (the patient's last infusion start), unless a prescriber
    (``override_by``) sets that aside with ``override_reason``; the override is kept on the session."""
    _require_status(session, (SessionStatus.SCHEDULED,), "check in")
    _require_order(session, order)
    require_aware("at", at)
    problems = schedule_problems(at, session.scheduled_start, session.scheduled_end, previous_infusion_at,
                                 settings or SessionSettings())
    override = allowed_start(problems, override_reason, override_by, at)
    if override is not None:
        session = replace(session, check_in_override=override)
    return _transition(session, SessionStatus.CHECKED_IN, by, at)


def order_actual_weight_kg(order: ActiveOrder, ehr_weight_kg: float | None = None) -> float:
    """The actual body weight the order's dose was calculated from, compared with today's actual weight: the one the
    order carries, else the EHR Observation it names (``ehr_weight_kg``), else (only for an order received before
    orders carried it) the dosing weight mg ÷ mg/kg, which equals the actual weight only on an actual-weight basis.
    Never the dosing weight when the actual one is known: an ideal, adjusted or capped dose is not a weight change
    (issue 13 defect 13)."""
    if order.actual_weight_kg is not None:
        return order.actual_weight_kg
    return order.dosing_weight_kg if ehr_weight_kg is None else ehr_weight_kg


def order_actual_weight_kg(order: ActiveOrder, ehr_weight_kg: float | None = None) -> float:
    """The actual body weight the order's dose was calculated from, compared with today's actual weight: the one the
    order carries, else the EHR Observation it names (``ehr_weight_kg``), else (only for an order received before
    orders carried it) the dosing weight mg ÷ mg/kg, which equals the actual weight only on an actual-weight basis.
    Never the dosing weight when the actual one is known: an ideal, adjusted or capped dose is not a weight change
    (issue 13 defect 13)."""
    if order.actual_weight_kg is not None:
        return order.actual_weight_kg
    return order.dosing_weight_kg if ehr_weight_kg is None else ehr_weight_kg


def record_pre_check(
    session: Session,
    order: ActiveOrder,
    reading: VitalsReading,
    confirmations: PreCheckConfirmations,
    latest_weight_kg: float,
    settings: SessionSettings,
    by: str,
    at: datetime,
    order_weight_kg: float | None = None,
) -> Session:
    """Record one pre-infusion check (a recheck is another call) and its result against the hold rules.

    The weight compared with ``latest_weight_kg`` is the actual weight the order carries, else ``order_weight_kg``
    (the EHR Observation in MedicationRequest.supportingInformation), else the order's dosing weight
    (``order_actual_weight_kg``).
    """
    _require_status(session, (SessionStatus.CHECKED_IN, SessionStatus.PRE_CHECK), "record a pre-infusion check")
    _require_order(session, order)
    with input_field("reading"):
        require_complete_pre_check_reading(reading)
    if any(attempt.reading.reading_id == reading.reading_id for attempt in session.pre_checks):
        raise DocumentationInputError("reading.reading_id", f"reading {reading.reading_id} already recorded")
    weight_kg = order_actual_weight_kg(order, order_weight_kg)
    previous_reading = session.latest_pre_check.reading if session.latest_pre_check else None
    result = evaluate_pre_check(reading, previous_reading, confirmations, weight_kg, latest_weight_kg, settings)
    with input_field("pre_check"):
        attempt = PreCheckAttempt(
            reading=reading,
            confirmations=confirmations,
            order_weight_kg=weight_kg,
            latest_weight_kg=latest_weight_kg,
            ordered_dose_mg=order.dose_mg,
            checked_by=by,
            checked_at=at,
            result=result,
        )
    if session.latest_pre_check is not None and at < session.latest_pre_check.checked_at:
        raise DocumentationInputError("at", "before the previous pre-infusion check")
    updated = replace(session, pre_checks=session.pre_checks + (attempt,))
    if session.status is SessionStatus.CHECKED_IN:
        return _transition(updated, SessionStatus.PRE_CHECK, by, at)
    return updated


def override_pre_check_hold(session: Session, reason: str, by: str, at: datetime) -> Session:
    """Infuse despite the latest check's vital-sign holds (or a pending BP recheck); reason and who are kept."""
    _require_status(session, (SessionStatus.PRE_CHECK,), "override a pre-infusion hold")
    attempt = _latest_pre_check(session)
    if not attempt.result.vital_sign_holds and not attempt.result.recheck_reasons:
        raise TransitionNotAllowed("the latest pre-infusion check has no vital-sign hold to override")
    with input_field("override"):
        override = HoldOverride(reason=reason, overridden_by=by, overridden_at=at)
    return replace(session, pre_checks=session.pre_checks[:-1] + (replace(attempt, override=override),))


def start_infusion(session: Session, order: ActiveOrder, by: str, at: datetime) -> Session:
    _require_status(session, (SessionStatus.PRE_CHECK,), "start the infusion of")
    _require_order(session, order)
    attempt = _latest_pre_check(session)
    reasons = list(attempt.blocking_reasons())
    if order.dose_mg != attempt.ordered_dose_mg:
        reasons.append(
            f"order changed since the pre-infusion check ({attempt.ordered_dose_mg:g} mg → {order.dose_mg:g} mg): "
            "repeat the check"
        )
    if reasons:
        raise TransitionNotAllowed("infusion cannot start: " + "; ".join(reasons), tuple(reasons))
    return _transition(session, SessionStatus.INFUSING, by, at)


def record_vitals(session: Session, reading: VitalsReading, settings: SessionSettings) -> Session:
    """Add a flowsheet reading and raise an alert if it crosses an alert threshold.

    Recording the same reading again (a redelivered device message) changes nothing; the same id with other
    values is refused.
    """
    _require_status(session, _DOCUMENTABLE, "record vitals for")
    existing = session.reading(reading.reading_id)
    if existing is not None:
        if existing == reading:
            return session
        raise DocumentationInputError("reading.reading_id", f"reading {reading.reading_id} already recorded")
    readings = tuple(sorted(session.readings + (reading,), key=lambda r: r.measured_at))
    alert = alert_for_reading(reading, settings)
    return replace(session, readings=readings, alerts=session.alerts + ((alert,) if alert else ()))


def record_action(session: Session, alert_id: str, action: AlertAction) -> Session:
    """Record what was done about an alert, which closes it."""
    _require_status(session, _DOCUMENTABLE, "record an alert action for")
    index = next((i for i, alert in enumerate(session.alerts) if alert.alert_id == alert_id), None)
    if index is None:
        raise DocumentationInputError("alert_id", f"no alert {alert_id} in this session")
    alert = session.alerts[index]
    if not alert.is_open:
        raise TransitionNotAllowed(f"alert {alert_id} already has an action ({alert.action.describe()})")  # type: ignore[union-attr]
    with input_field("action"):
        answered = alert.with_action(action)
    return replace(session, alerts=session.alerts[:index] + (answered,) + session.alerts[index + 1 :])


def record_event(session: Session, event: FlowsheetEvent) -> Session:
    _require_status(session, _DOCUMENTABLE, "record an event for")
    return replace(session, events=_upsert(session.events, event, "event_id"))


def record_cadss(session: Session, assessment: CadssAssessment, settings: SessionSettings) -> Session:
    """Add a CADSS rating taken after the infusion started; a scheduled minute must be one the clinic set, and
    each timepoint is rated once (an extra rating is recorded as unscheduled)."""
    _require_status(session, _DOCUMENTABLE, "record a CADSS rating for")
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
    return replace(session, cadss=_upsert(session.cadss, assessment, "assessment_id"))


def record_adverse_event(session: Session, event: AdverseEventRecord) -> Session:
    """Add an adverse event, or update one recorded earlier with the same id (e.g. its outcome)."""
    _require_status(session, _DOCUMENTABLE, "record an adverse event for")
    return replace(session, adverse_events=_upsert(session.adverse_events, event, "event_id"))


def record_administration(
    session: Session, order: ActiveOrder, administration: AdministrationRecord, settings: SessionSettings
) -> Session:
    """Record (or correct, until discharge) what was given, checked against the ordered dose."""
    allowed = (SessionStatus.RECOVERING, SessionStatus.ABORTED)
    _require_status(session, allowed, "record the administration for")
    if session.infusion_started_at is None:
        raise TransitionNotAllowed("no infusion was started in this session")
    _require_order(session, order, must_be_active=False)
    with input_field("administration"):
        completed = complete_against_order(administration, order, settings)
    return replace(session, administration=completed)


def end_infusion(session: Session, by: str, at: datetime) -> Session:
    _require_status(session, (SessionStatus.INFUSING,), "end the infusion of")
    return _transition(session, SessionStatus.RECOVERING, by, at)


def discharge(
    session: Session,
    assessment: DischargeAssessment,
    settings: SessionSettings,
    by: str,
    at: datetime,
    override_reason: str = "",
) -> Session:
    """Discharge when every criterion is met, or despite failing ones with ``override_reason``.

    Open alerts and a missing administration record are not clinical judgements and cannot be overridden.
    The refusal lists every failing criterion.
    """
    _require_status(session, (SessionStatus.RECOVERING,), "discharge")
    require_text("by", by)
    require_aware("at", at)
    ended_at = session.infusion_ended_at
    if ended_at is None:
        raise TransitionNotAllowed("the session has no infusion end time")
    recovery_readings = tuple(r for r in session.readings if r.measured_at >= ended_at)
    criteria = evaluate_discharge(assessment, ended_at, session.baseline_reading, recovery_readings, at, settings)
    blocking = [f"open alert {alert.alert_id}: {'; '.join(alert.crossings)}" for alert in session.open_alerts]
    if session.administration is None:
        blocking.append("administration record missing")
    failing = [f"{c.name}: {c.detail}" for c in criteria if not c.met]
    if blocking or (failing and not override_reason.strip()):
        listed = blocking + failing
        hint = " (open alerts and the administration record cannot be overridden)" if blocking and failing else ""
        raise TransitionNotAllowed("discharge refused: " + "; ".join(listed) + hint, tuple(listed))
    record = DischargeRecord(
        assessment=assessment,
        criteria=criteria,
        discharged_by=by,
        discharged_at=at,
        override_reason=override_reason.strip() if failing else "",
    )
    return _transition(replace(session, discharge_record=record), SessionStatus.DISCHARGED, by, at)


def defer(session: Session, reason: str, by: str, at: datetime) -> Session:
    """Postpone the infusion (e.g. a held pre-check); only before it starts."""
    allowed = (SessionStatus.SCHEDULED, SessionStatus.CHECKED_IN, SessionStatus.PRE_CHECK)
    _require_status(session, allowed, "defer")
    require_text("reason", reason)
    return _transition(session, SessionStatus.DEFERRED, by, at, reason)


def cancel(session: Session, reason: str, by: str, at: datetime) -> Session:
    """End a session that never began because its order (or this occurrence) was cancelled; only while scheduled,
    so a patient already at the clinic is left to the clinician (who may defer or abort)."""
    _require_status(session, (SessionStatus.SCHEDULED,), "cancel")
    require_text("reason", reason)
    return _transition(session, SessionStatus.CANCELLED, by, at, reason)


def abort(session: Session, reason: str, by: str, at: datetime) -> Session:
    """Stop the session for good once the patient is here (before the infusion, during it or in recovery)."""
    _require_status(session, _AT_CLINIC, "abort")
    require_text("reason", reason)
    return _transition(session, SessionStatus.ABORTED, by, at, reason)


def _require_status(session: Session, allowed: tuple[SessionStatus, ...], action: str) -> None:
    if session.status not in allowed:
        raise TransitionNotAllowed(f"cannot {action} a session that is {session.status.value}")


def _latest_pre_check(session: Session) -> PreCheckAttempt:
    if session.latest_pre_check is None:
        raise TransitionNotAllowed("no pre-infusion check recorded")
    return session.latest_pre_check


def _require_order(session: Session, order: ActiveOrder, must_be_active: bool = True) -> None:
    if order.order_id != session.order_id:
        raise DocumentationInputError(
            "order.order_id", f"session {session.session_id} belongs to order {session.order_id}"
        )
    if must_be_active and order.status is not OrderStatus.ACTIVE:
        raise TransitionNotAllowed(f"order {order.order_id} is {order.status.value}")


def _transition(session: Session, to_status: SessionStatus, by: str, at: datetime, reason: str = "") -> Session:
    require_text("by", by)
    require_aware("at", at)
    if session.transitions and at < session.transitions[-1].at:
        previous = session.transitions[-1]
        raise DocumentationInputError(
            "at", f"before the previous step ({previous.to_status.value} at {previous.at.isoformat()})"
        )
    transition = Transition(session.status, to_status, at, by, reason.strip())
    return replace(session, status=to_status, transitions=session.transitions + (transition,))


def _upsert(records: tuple[T, ...], record: T, key: str) -> tuple[T, ...]:
    """Replace the record with the same key, or append it."""
    value = getattr(record, key)
    for index, existing in enumerate(records):
        if getattr(existing, key) == value:
            return records[:index] + (record,) + records[index + 1 :]
    return records + (record,)
