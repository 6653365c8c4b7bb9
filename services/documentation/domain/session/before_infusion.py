"""Before the infusion: check-in (window and minimum interval), the pre-infusion check and its override, the day's
suicide-risk review, and the start of the infusion."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.documentation.domain.checks import require_aware
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed, input_field
from services.documentation.domain.order import ActiveOrder
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
from services.documentation.domain.plausibility import require_in_session, require_plausible_reading
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.site_readiness import SiteReadiness, readiness_holds
from services.documentation.domain.spacing import allowed_start, schedule_problems
from services.documentation.domain.suicide_risk import (
    CssrsScreen,
    SuicidalityAlertSeen,
    SuicideRiskReview,
    needs_review,
    suicide_risk_blocks,
)
from services.documentation.domain.vitals import VitalsReading
from shared.scales import CssrsRisk

from services.documentation.domain.session.model import (
    Session, SessionStatus, require_order, require_pre_check, require_status, transition,
)
from services.documentation.domain.session.one_at_a_time import other_sessions_block
from shared.people import Person


def check_in(session: Session, order: ActiveOrder, by: Person, at: datetime, settings: SessionSettings | None = None,
             previous_infusion_at: datetime | None = None, override_reason: str = "",
             override_by: Person | None = None, chair: str = "") -> Session:
    """The patient is here. Refused (with every reason) outside the session's window or sooner than the clinic's
    minimum interval after ``previous_infusion_at`` (the patient's last infusion start), unless a prescriber
    (``override_by``) sets that aside with ``override_reason``; the override is kept on the session."""
    require_status(session, (SessionStatus.SCHEDULED,), "check in")
    require_order(session, order)
    require_aware(at, "at")
    problems = schedule_problems(at, session.scheduled_start, session.scheduled_end, previous_infusion_at,
                                 settings or SessionSettings())
    override = allowed_start(problems, override_reason, override_by, at)
    if override is not None:
        session = replace(session, check_in_override=override)
    if chair.strip():
        session = replace(session, chair=chair.strip())
    return transition(session, SessionStatus.CHECKED_IN, by, at)


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
    by: Person,
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
    require_status(session, (SessionStatus.CHECKED_IN, SessionStatus.PRE_CHECK), "record a pre-infusion check")
    require_order(session, order)
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
        return transition(updated, SessionStatus.PRE_CHECK, by, at)
    return updated


def override_pre_check_hold(session: Session, reason: str, by: Person, at: datetime) -> Session:
    """Infuse despite the latest check's vital-sign holds (or a pending BP recheck); reason and who are kept."""
    require_status(session, (SessionStatus.PRE_CHECK,), "override a pre-infusion hold")
    attempt = require_pre_check(session)
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
    require_status(session, (SessionStatus.PRE_CHECK,), "review the suicide risk of")
    require_in_session("at", review.reviewed_at, session.time_floor(settings))
    screen = session.latest_cssrs
    if not needs_review(session.cssrs_screens, open_alerts, session.suicide_risk_reviews) and not any(
            screening.risk.rank >= CssrsRisk.MODERATE.rank for screening in session.cssrs_screens):
        raise TransitionNotAllowed("nothing to review: no moderate or high C-SSRS today and no open suicidality alert")
    covered = replace(review, screening_id=screen.screening_id if screen else "",
                      screening_risk=screen.risk if screen else None, alerts=open_alerts)
    return replace(session, suicide_risk_reviews=session.suicide_risk_reviews + (covered,))


def start_infusion(session: Session, order: ActiveOrder, by: Person, at: datetime,
                   settings: SessionSettings | None = None,
                   open_suicidality_alerts: tuple[SuicidalityAlertSeen, ...] = (),
                   others: tuple[Session, ...] = ()) -> Session:
    """Start when the latest pre-infusion check allows it and, with ``settings``, the day's suicide-risk check does
    (the C-SSRS done, a high risk or an open suicidality alert reviewed with the decision to proceed). ``others``
    are the patient's other sessions as they are now: none may be infusing or recovering (``one_at_a_time``)."""
    require_status(session, (SessionStatus.PRE_CHECK,), "start the infusion of")
    require_order(session, order)
    attempt = require_pre_check(session)
    reasons = other_sessions_block(session, others, at, settings)
    reasons += list(attempt.blocking_reasons())
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
    return transition(session, SessionStatus.INFUSING, by, at)
