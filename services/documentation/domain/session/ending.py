"""The end of the session: the end of the infusion, discharge and its follow-up call, deferral, cancellation and
abort."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.documentation.domain.checks import require_aware, require_person, require_text
from services.documentation.domain.discharge import DischargeAssessment, DischargeRecord, evaluate_discharge
from services.documentation.domain.errors import TransitionNotAllowed
from services.documentation.domain.follow_up import FollowUpOutcome, complete_follow_up, request_follow_up
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.suicide_risk import (
    day_risk_above_low,
)

from services.documentation.domain.session.model import (
    AT_CLINIC, Session, SessionStatus, require_status, transition,
)
from shared.people import Person


def complete_follow_up_call(
    session: Session, outcome: FollowUpOutcome, note: str, by: Person, at: datetime
) -> Session:
    """The next-day call's outcome (the Task goes from requested to completed)."""
    require_status(session, (SessionStatus.DISCHARGED,), "record the follow-up call for")
    record = session.discharge_record
    if record is None or record.follow_up is None:
        raise TransitionNotAllowed("no follow-up call was requested at discharge")
    require_person(by, "by")
    call = complete_follow_up(record.follow_up, outcome, note, by, at)
    return replace(session, discharge_record=replace(record, follow_up=call))


def end_infusion(session: Session, by: Person, at: datetime) -> Session:
    require_status(session, (SessionStatus.INFUSING,), "end the infusion of")
    return transition(session, SessionStatus.RECOVERING, by, at)


def discharge(
    session: Session,
    assessment: DischargeAssessment,
    settings: SessionSettings,
    by: Person,
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

    require_status(session, (SessionStatus.RECOVERING,), "discharge")
    require_person(by, "by")
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
    return transition(replace(session, discharge_record=record), SessionStatus.DISCHARGED, by, at)


def defer(session: Session, reason: str, by: Person, at: datetime) -> Session:
    """Postpone the infusion (e.g. a held pre-check); only before it starts."""
    allowed = (SessionStatus.SCHEDULED, SessionStatus.CHECKED_IN, SessionStatus.PRE_CHECK)
    require_status(session, allowed, "defer")
    require_text(reason, "reason")
    return transition(session, SessionStatus.DEFERRED, by, at, reason)


def cancel(session: Session, reason: str, by: Person, at: datetime) -> Session:
    """End a session that never began because its order (or this occurrence) was cancelled; only while scheduled,
    so a patient already at the clinic is left to the clinician (who may defer or abort)."""
    require_status(session, (SessionStatus.SCHEDULED,), "cancel")
    require_text(reason, "reason")
    return transition(session, SessionStatus.CANCELLED, by, at, reason)


def abort(session: Session, reason: str, by: Person, at: datetime) -> Session:
    """Stop the session for good once the patient is here (before the infusion, during it or in recovery)."""
    require_status(session, AT_CLINIC, "abort")
    require_text(reason, "reason")
    return transition(session, SessionStatus.ABORTED, by, at, reason)
