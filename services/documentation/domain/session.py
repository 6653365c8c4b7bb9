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
from services.documentation.domain.administration_review import AdministrationReview, review_administration
from services.documentation.domain.adverse_events import AdverseEventRecord
from services.documentation.domain.cadss import CadssAssessment, CadssNotRated
from services.documentation.domain.controlled_substance import (
    ControlledSubstanceRecord,
    check_controlled_substance,
    check_product_is_the_ordered_one,
)
from services.documentation.domain.checks import require_aware, require_text
from services.documentation.domain.discharge import DischargeAssessment, DischargeRecord, evaluate_discharge
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed, input_field
from services.documentation.domain.flowsheet import (
    AlertAction,
    AlertActionKind,
    FlowsheetEvent,
    VitalsAlert,
    alert_for_reading,
)
from services.documentation.domain.follow_up import FollowUpOutcome, complete_follow_up, request_follow_up
from services.documentation.domain.order import ActiveOrder, OccurrenceStatus, OrderStatus
from services.documentation.domain.pre_check import (
    HoldOverride,
    PreCheckAttempt,
    PreCheckConfirmations,
    PreCheckOutcome,
    PregnancyCheck,
    evaluate_pre_check,
    require_complete_pre_check_reading,
    require_plausible_fasting_times,
)
from services.documentation.domain.pregnancy import PregnancyApplicability, require_allowed_answer
from services.documentation.domain.pump import (
    ChartedInfusion,
    SAME_MOMENT,
    PumpChange,
    PumpChangeKind,
    charted_infusion,
    check_new_change,
    missing_from_record,
)
from services.documentation.domain.plausibility import require_in_session, require_plausible_reading, session_floor
from services.documentation.domain.records import DocumentationRecord
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.site_readiness import SiteReadiness, readiness_holds
from services.documentation.domain.spacing import ScheduleOverride, allowed_start, schedule_problems
from services.documentation.domain.suicide_risk import (
    CssrsScreen,
    SuicidalityAlertSeen,
    SuicideRiskReview,
    day_risk_above_low,
    needs_review,
    suicide_risk_blocks,
)
from services.documentation.domain.vitals import VitalsReading
from shared.scales import CssrsRisk

T = TypeVar("T")
_PUMP_CHANGE_OF_ACTION = {
    AlertActionKind.RATE_REDUCED: PumpChangeKind.RATE_CHANGE,
    AlertActionKind.PAUSED: PumpChangeKind.PAUSE,
    AlertActionKind.STOPPED: PumpChangeKind.STOP,
}


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
    # The day's C-SSRS screeners (the latest counts) and the clinicians' suicide-risk reviews (issue 13 defect 5).
    cssrs_screens: tuple[CssrsScreen, ...] = ()
    suicide_risk_reviews: tuple[SuicideRiskReview, ...] = ()
    pump_changes: tuple[PumpChange, ...] = ()
    cadss_not_rated: tuple[CadssNotRated, ...] = ()
    administration_review: AdministrationReview | None = None
    controlled_substance: ControlledSubstanceRecord | None = None
    # A prescriber's decision to check in outside the window or too soon after the previous infusion (defect 6).
    check_in_override: ScheduleOverride | None = None

    def __post_init__(self) -> None:
        for name in ("session_id", "order_id", "series_id", "patient_id"):
            require_text(getattr(self, name), name)
        require_aware(self.scheduled_start, "scheduled_start")
        require_aware(self.scheduled_end, "scheduled_end")

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
    def latest_cssrs(self) -> CssrsScreen | None:
        return self.cssrs_screens[-1] if self.cssrs_screens else None

    def time_floor(self, settings: SessionSettings) -> datetime:
        """The earliest plausible time of a clinical act of this session (issue 13 defect 24)."""
        return session_floor(self.scheduled_start, self.checked_in_at, settings)

    @property
    def open_alerts(self) -> tuple[VitalsAlert, ...]:
        return tuple(alert for alert in self.alerts if alert.is_open)

    def alert_for(self, reading_id: str) -> VitalsAlert | None:
        """The alert a reading raised, if any (the glue publishes ``alert-raised`` for it)."""
        return next((alert for alert in self.alerts if alert.reading_id == reading_id), None)

    def reading(self, reading_id: str) -> VitalsReading | None:
        return next((r for r in self.readings if r.reading_id == reading_id), None)

    def charted_infusion(self, order: ActiveOrder, now: datetime) -> ChartedInfusion | None:
        """The pump's segments as charted (the order's rate from the start, then each charted change), up to the
        infusion's end (or ``now`` while it runs); None before the start."""
        started_at = self.infusion_started_at
        if started_at is None:
            return None
        ended_at = self.infusion_ended_at or max(now, started_at)
        if ended_at <= started_at:
            return None
        return charted_infusion(started_at, order.rate_ml_per_h, ended_at, self.pump_changes)


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
    require_aware(at, "at")
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
    cssrs: CssrsScreen | None = None,
    site_readiness: SiteReadiness | None = None,
    pregnancy: PregnancyApplicability | None = None,
) -> Session:
    """Record one pre-infusion check (a recheck is another call) and its result against the hold rules.

    The weight compared with ``latest_weight_kg`` is the actual weight the order carries, else ``order_weight_kg``
    (the EHR Observation in MedicationRequest.supportingInformation), else the order's dosing weight
    (``order_actual_weight_kg``).
    ``cssrs`` is the day's C-SSRS screener (kept on the session; a recheck may leave it out once one is recorded)
    and ``site_readiness`` the clinic's checklist as answered (an item not confirmed holds, not overridable).
    ``pregnancy``: whether the patient's EHR record (read on the day) rules pregnancy out; None (not read) keeps
    the check applicable, so "not applicable" is refused (issue 13 defect 18). The fasting times must be plausible
    for a check at ``at``.
    """
    _require_status(session, (SessionStatus.CHECKED_IN, SessionStatus.PRE_CHECK), "record a pre-infusion check")
    _require_order(session, order)
    with input_field("reading"):
        require_complete_pre_check_reading(reading, settings)
        require_plausible_reading(reading, settings)
    require_in_session("at", at, session.time_floor(settings))
    require_plausible_fasting_times(confirmations, at, settings)
    require_allowed_answer(confirmations.pregnancy_check is PregnancyCheck.NOT_APPLICABLE, pregnancy)
    if any(attempt.reading.reading_id == reading.reading_id for attempt in session.pre_checks):
        raise DocumentationInputError("reading.reading_id", f"reading {reading.reading_id} already recorded")
    weight_kg = order_actual_weight_kg(order, order_weight_kg)
    previous_reading = session.latest_pre_check.reading if session.latest_pre_check else None
    result = evaluate_pre_check(reading, previous_reading, confirmations, weight_kg, latest_weight_kg, settings,
                                checked_at=at)
    if site_readiness is None and session.latest_pre_check is not None:
        site_readiness = session.latest_pre_check.site_readiness  # a recheck keeps the checklist confirmed before
    not_ready = readiness_holds(site_readiness, settings)
    if not_ready:
        result = replace(result, outcome=PreCheckOutcome.HOLD, confirmation_holds=result.confirmation_holds + not_ready)
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
            site_readiness=site_readiness,
            pregnancy_applicability=pregnancy,
        )
    if session.latest_pre_check is not None and at < session.latest_pre_check.checked_at:
        raise DocumentationInputError("at", "before the previous pre-infusion check")
    updated = replace(session, pre_checks=session.pre_checks + (attempt,),
                      cssrs_screens=session.cssrs_screens + ((cssrs,) if cssrs is not None else ()))
    if session.status is SessionStatus.CHECKED_IN:
        return _transition(updated, SessionStatus.PRE_CHECK, by, at)
    return updated


def override_pre_check_hold(session: Session, reason: str, by: str, at: datetime) -> Session:
    """Infuse despite the latest check's vital-sign holds (or a pending BP recheck); reason and who are kept."""
    _require_status(session, (SessionStatus.PRE_CHECK,), "override a pre-infusion hold")
    attempt = _latest_pre_check(session)
    if not attempt.result.vital_sign_holds and not attempt.result.recheck_reasons:
        raise TransitionNotAllowed("the latest pre-infusion check has no vital-sign hold to override")
    if attempt.result.severe_bp_unconfirmed:
        raise TransitionNotAllowed("BP at or above the alert thresholds: record the recheck at rest before an "
                                   "override (issue 13: a severe reading is never overridden unconfirmed)")
    with input_field("override"):
        override = HoldOverride(reason=reason, overridden_by=by, overridden_at=at)
    return replace(session, pre_checks=session.pre_checks[:-1] + (replace(attempt, override=override),))


def review_suicide_risk(session: Session, open_alerts: tuple[SuicidalityAlertSeen, ...], review: SuicideRiskReview,
                        settings: SessionSettings) -> Session:
    """A clinician's documented review of the day's screener (moderate or high) and the open suicidality alerts (the
    review records which it covered); only before the infusion, and only when there is something to review."""
    _require_status(session, (SessionStatus.PRE_CHECK,), "review the suicide risk of")
    require_in_session("at", review.reviewed_at, session.time_floor(settings))
    screen = session.latest_cssrs
    if not needs_review(session.cssrs_screens, open_alerts, session.suicide_risk_reviews) and not any(
            screening.risk.rank >= CssrsRisk.MODERATE.rank for screening in session.cssrs_screens):
        raise TransitionNotAllowed("nothing to review: no moderate or high C-SSRS today and no open suicidality alert")
    covered = replace(review, screening_id=screen.screening_id if screen else "",
                      screening_risk=screen.risk if screen else None, alerts=open_alerts)
    return replace(session, suicide_risk_reviews=session.suicide_risk_reviews + (covered,))


def start_infusion(session: Session, order: ActiveOrder, by: str, at: datetime,
                   settings: SessionSettings | None = None,
                   open_suicidality_alerts: tuple[SuicidalityAlertSeen, ...] = ()) -> Session:
    """Start when the latest pre-infusion check allows it and, with ``settings``, the day's suicide-risk check does
    (the C-SSRS done, a high risk or an open suicidality alert reviewed with the decision to proceed)."""
    _require_status(session, (SessionStatus.PRE_CHECK,), "start the infusion of")
    _require_order(session, order)
    attempt = _latest_pre_check(session)
    reasons = list(attempt.blocking_reasons())
    if settings is not None:
        reasons += suicide_risk_blocks(session.cssrs_screens, open_suicidality_alerts, session.suicide_risk_reviews,
                                       settings)
        reasons += [hold for hold in readiness_holds(attempt.site_readiness, settings) if hold not in reasons]
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
    require_plausible_reading(reading, settings)
    require_in_session("measured_at", reading.measured_at, session.time_floor(settings))
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
    _require_status(session, (SessionStatus.INFUSING, SessionStatus.RECOVERING, SessionStatus.ABORTED),
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
    _require_status(session, _DOCUMENTABLE, "record an event for")
    if settings is not None:
        require_in_session("occurred_at", event.occurred_at, session.time_floor(settings))
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


def record_cadss_not_rated(session: Session, not_rated: CadssNotRated, settings: SessionSettings) -> Session:
    """Why a scheduled CADSS timepoint was not rated (it then no longer holds discharge; the note lists it)."""
    _require_status(session, _DOCUMENTABLE, "record an unrated CADSS timepoint for")
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
    _require_status(session, _DOCUMENTABLE, "record an adverse event for")
    if settings is not None:
        require_in_session("onset_at", event.onset_at, session.time_floor(settings))
    return replace(session, adverse_events=_upsert(session.adverse_events, event, "event_id"))


def record_administration(
    session: Session, order: ActiveOrder, administration: AdministrationRecord, settings: SessionSettings
) -> Session:
    """Record (or correct, until discharge) what was given, checked against the ordered dose."""
    allowed = (SessionStatus.RECOVERING, SessionStatus.ABORTED)
    _require_status(session, allowed, "record the administration for")
    require_in_session("started_at", administration.started_at, session.time_floor(settings))  # issue 13 defect 24
    if session.infusion_started_at is None:
        raise TransitionNotAllowed("no infusion was started in this session")
    _require_within_the_charted_infusion(session, administration)
    _require_order(session, order, must_be_active=False)
    charted = session.charted_infusion(order, administration.stopped_at)
    if charted is not None:
        missing = missing_from_record(administration, charted)
        if missing:
            field, _message = missing[0]
            raise DocumentationInputError(
                field, "; ".join(message for _field, message in missing) + " (charted changes flow into the record)"
            )
    with input_field("administration"):
        completed = complete_against_order(administration, order, settings)
    review = session.administration_review
    if review is not None and not review.matches(completed):
        review = None  # the totals changed: given versus ordered must be reviewed again
    return replace(session, administration=completed, administration_review=review)


def _require_within_the_charted_infusion(session: Session, administration: AdministrationRecord) -> None:
    """The pump ran between the infusion's start and end as charted (within a typed minute): a record starting
    before the start or stopping after the end claims minutes, hence millilitres and milligrams, that the chart
    says were never given."""
    started_at, ended_at = session.infusion_started_at, session.infusion_ended_at
    if started_at is not None and administration.started_at < started_at - SAME_MOMENT:
        raise DocumentationInputError("started_at", f"before the infusion was started on the chart "
                                                    f"({started_at.isoformat(timespec='minutes')})")
    if ended_at is not None and administration.stopped_at > ended_at + SAME_MOMENT:
        raise DocumentationInputError("stopped_at", f"after the infusion ended on the chart "
                                                    f"({ended_at.isoformat(timespec='minutes')})")


def review_given_against_ordered(
    session: Session, by: str, at: datetime, comment: str, settings: SessionSettings
) -> Session:
    """Record that a clinician reviewed the dose given against the order (discharge waits for it)."""
    _require_status(session, (SessionStatus.RECOVERING, SessionStatus.ABORTED), "review the administration of")
    require_text(by, "by")
    require_aware(at, "at")
    review = review_administration(session.administration, by, at, comment,
                                   settings.administered_dose_tolerance_percent)
    return replace(session, administration_review=review)


def record_controlled_substance(
    session: Session, record: ControlledSubstanceRecord, settings: SessionSettings, order: ActiveOrder | None = None,
    note_signed: bool = False,
) -> Session:
    """The controlled-substance record of the infusion (after the administration record, until the note is
    signed: recovering, discharged or aborted sessions); recording it again corrects it. With the ``order``, the
    product must be the one it is drawn from. ``note_signed``: the session's note is signed, which quotes the
    record; a correction then would overwrite the legal record of a Schedule III drug with no trail (amend the
    note instead)."""
    allowed = (SessionStatus.RECOVERING, SessionStatus.DISCHARGED, SessionStatus.ABORTED)
    _require_status(session, allowed, "record the controlled substance for")
    if note_signed:
        raise TransitionNotAllowed("the procedure note quoting the controlled-substance record is signed: the record "
                                   "can no longer be changed (amend the note to correct it)")
    started_at = session.infusion_started_at
    if started_at is None:
        raise TransitionNotAllowed("no infusion was started in this session: nothing was drawn for it")
    if order is not None:
        check_product_is_the_ordered_one(record, order.product_strength_mg_per_ml, order.product_rxnorm_code,
                                         order.product_text)
    administration = session.administration
    check_controlled_substance(
        record, started_at, administration.total_mg if administration else None,
        administration.lot_number if administration else None, settings.controlled_substance_tolerance_mg,
    )
    return replace(session, controlled_substance=record)


def complete_follow_up_call(
    session: Session, outcome: FollowUpOutcome, note: str, by: str, at: datetime
) -> Session:
    """The next-day call's outcome (the Task goes from requested to completed)."""
    _require_status(session, (SessionStatus.DISCHARGED,), "record the follow-up call for")
    record = session.discharge_record
    if record is None or record.follow_up is None:
        raise TransitionNotAllowed("no follow-up call was requested at discharge")
    require_text(by, "by")
    call = complete_follow_up(record.follow_up, outcome, note, by, at)
    return replace(session, discharge_record=replace(record, follow_up=call))


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
    """Discharge when every criterion is met, or despite failing clinical ones with ``override_reason``.

    Not clinical judgements, so never overridden: open alerts, a missing administration record or one whose
    given-versus-ordered has not been reviewed, a scheduled CADSS with neither a rating nor a reason, and the
    criteria marked not overridable (the escort, the instructions). The refusal lists every failing item. A
    discharge requests the next-day follow-up call (owner: who discharges).
    """
    from services.documentation.domain.schedule import due_cadss  # schedule reads Session: imported when used

    _require_status(session, (SessionStatus.RECOVERING,), "discharge")
    require_text(by, "by")
    require_aware(at, "at")
    ended_at = session.infusion_ended_at
    if ended_at is None:
        raise TransitionNotAllowed("the session has no infusion end time")
    recovery_readings = tuple(r for r in session.readings if r.measured_at >= ended_at)
    criteria = evaluate_discharge(assessment, ended_at, session.baseline_reading, recovery_readings, at, settings,
                                  suicide_risk_above_low=day_risk_above_low(session.cssrs_screens,
                                                                            session.suicide_risk_reviews))
    blocking = [f"open alert {alert.alert_id}: {'; '.join(alert.crossings)}" for alert in session.open_alerts]
    if session.administration is None:
        blocking.append("administration record missing")
    elif session.administration_review is None or not session.administration_review.matches(session.administration):
        blocking.append("given versus ordered not reviewed: review the administration record")
    blocking += [f"CADSS {due.label} not rated: rate it or record why not"
                 for due in due_cadss(session, at, settings, at_discharge=True)]
    failing = [f"{c.name}: {c.detail}" for c in criteria if not c.met]
    fixed = [c for c in criteria if not c.met and not c.overridable]
    if blocking or fixed or (failing and not override_reason.strip()):
        listed = blocking + failing
        hint = ""
        if (blocking or fixed) and override_reason.strip():
            names = ", ".join(["open alerts, the administration record and its review, scheduled CADSS"] * bool(
                blocking) + [c.name for c in fixed])
            hint = f" ({names} cannot be overridden)"
        raise TransitionNotAllowed("discharge refused: " + "; ".join(listed) + hint, tuple(listed))
    record = DischargeRecord(
        assessment=assessment,
        criteria=criteria,
        discharged_by=by,
        discharged_at=at,
        override_reason=override_reason.strip() if failing else "",
        contact=settings.discharge_contact,
        follow_up=request_follow_up(by, at, settings.follow_up_clinic_weekdays),
    )
    return _transition(replace(session, discharge_record=record), SessionStatus.DISCHARGED, by, at)


def defer(session: Session, reason: str, by: str, at: datetime) -> Session:
    """Postpone the infusion (e.g. a held pre-check); only before it starts."""
    allowed = (SessionStatus.SCHEDULED, SessionStatus.CHECKED_IN, SessionStatus.PRE_CHECK)
    _require_status(session, allowed, "defer")
    require_text(reason, "reason")
    return _transition(session, SessionStatus.DEFERRED, by, at, reason)


def cancel(session: Session, reason: str, by: str, at: datetime) -> Session:
    """End a session that never began because its order (or this occurrence) was cancelled; only while scheduled,
    so a patient already at the clinic is left to the clinician (who may defer or abort)."""
    _require_status(session, (SessionStatus.SCHEDULED,), "cancel")
    require_text(reason, "reason")
    return _transition(session, SessionStatus.CANCELLED, by, at, reason)


def abort(session: Session, reason: str, by: str, at: datetime) -> Session:
    """Stop the session for good once the patient is here (before the infusion, during it or in recovery)."""
    _require_status(session, _AT_CLINIC, "abort")
    require_text(reason, "reason")
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
    require_text(by, "by")
    require_aware(at, "at")
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
