"""Order lifecycle: draft → active (signed) → completed / on-hold / cancelled, on-hold → active, and a draft or a
held order may be cancelled. Each step returns new records (order and series together) with the change appended to
the history; an illegal step raises IllegalTransitionError naming the current and wanted state.

Create and sign are refused unless the intake is eligible and consent is on file (the eligibility record is given,
never fetched), and sign re-checks that the weight the dose was calculated from is still within the clinic's window.
Completing or cancelling cancels the series' infusions still scheduled."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from shared.people import Person
from services.orders.domain.dose import DoseCalculation, weight_violations
from services.orders.domain.eligibility import EligibilityDecision, eligibility_violations
from services.orders.domain.errors import (
    EligibilityRefusedError, IllegalTransitionError, OrdersInputError, StaleWeightError, Violation,
)
from services.orders.domain.indication import CLINIC_INDICATION, Indication
from services.orders.domain.order import InfusionOrder, OrderSource, OrderStatus, OrderWithSeries, StatusChange
from services.orders.domain.series import SeriesStatus, TreatmentSeries, with_status
from services.orders.domain.settings import ProtocolSettings
from services.orders.domain.timestamps import current_moment

ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.DRAFT: frozenset({OrderStatus.ACTIVE, OrderStatus.CANCELLED}),
    OrderStatus.ACTIVE: frozenset({OrderStatus.ON_HOLD, OrderStatus.COMPLETED, OrderStatus.CANCELLED}),
    OrderStatus.ON_HOLD: frozenset({OrderStatus.ACTIVE, OrderStatus.CANCELLED}),
    OrderStatus.COMPLETED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}

SERIES_STATUS_FOR_ORDER = {
    OrderStatus.DRAFT: SeriesStatus.DRAFT,
    OrderStatus.ACTIVE: SeriesStatus.ACTIVE,
    OrderStatus.ON_HOLD: SeriesStatus.ON_HOLD,
    OrderStatus.COMPLETED: SeriesStatus.COMPLETED,
    OrderStatus.CANCELLED: SeriesStatus.REVOKED,
}


def create_order(patient_id: str, eligibility: EligibilityDecision | None, calculation: DoseCalculation,
                 series: TreatmentSeries, created_by: Person, settings: ProtocolSettings,
                 now: datetime | None = None, order_id: str | None = None,
                 source: OrderSource = OrderSource.KETALINK, ehr_request_id: str | None = None,
                 indication: Indication = CLINIC_INDICATION) -> OrderWithSeries:
    """A draft order for a draft series (``plan_induction`` / ``plan_maintenance``); ``indication`` is the clinic's
    unless a CPOE order stated its own.

    Raises EligibilityRefusedError when the intake is not eligible or consent is missing, StaleWeightError when the
    calculation's weight has aged out, OrdersInputError for a series of another patient or not a draft."""
    now = current_moment(now)
    if eligibility is None:
        raise EligibilityRefusedError("eligibility", "no intake eligibility decision is on file for the patient")
    refusals = eligibility_violations(eligibility, patient_id)
    violations = refusals + _weight_age(calculation, now, settings) + _who("created_by", created_by)
    if series.patient_id != patient_id:
        violations.append(Violation("series.patient_id", "the series is for another patient"))
    if series.status is not SeriesStatus.DRAFT:
        violations.append(Violation("series.status", f"a new order needs a draft series, not {series.status.value}"))
    _raise(violations, refusals)
    order = InfusionOrder(
        order_id=order_id or str(uuid.uuid4()),
        patient_id=patient_id,
        series_id=series.series_id,
        intake_id=eligibility.intake_id,
        status=OrderStatus.DRAFT,
        calculation=calculation,
        history=(StatusChange(None, OrderStatus.DRAFT, created_by, now),),
        source=source,
        ehr_request_id=ehr_request_id,
        indication=indication,
    )
    return OrderWithSeries(order, series)


def sign_order(current: OrderWithSeries, eligibility: EligibilityDecision | None, signed_by: Person,
               settings: ProtocolSettings, now: datetime | None = None) -> OrderWithSeries:
    """draft → active. Re-checks eligibility and consent (they may have changed since the draft) and the weight's
    age."""
    now = current_moment(now)
    _check_transition(current.order, OrderStatus.ACTIVE, OrderStatus.DRAFT)
    refusals = eligibility_violations(eligibility, current.order.patient_id)
    violations = refusals + _weight_age(current.order.calculation, now, settings) + _who("signed_by", signed_by)
    _raise(violations, refusals)
    return _apply(current, OrderStatus.ACTIVE, signed_by, now, None)


def hold_order(current: OrderWithSeries, held_by: Person, reason: str, now: datetime | None = None) -> OrderWithSeries:
    """active → on-hold; a reason is required (e.g. blood pressure above the clinic's limit)."""
    return _step(current, OrderStatus.ON_HOLD, held_by, now, reason, reason_required=True)


def resume_order(current: OrderWithSeries, resumed_by: Person, now: datetime | None = None,
                 reason: str | None = None) -> OrderWithSeries:
    """on-hold → active (a draft becomes active only by ``sign_order``, which checks eligibility)."""
    return _step(current, OrderStatus.ACTIVE, resumed_by, now, reason, reason_required=False,
                 from_status=OrderStatus.ON_HOLD)


def cancel_order(current: OrderWithSeries, cancelled_by: Person, reason: str,
                 now: datetime | None = None) -> OrderWithSeries:
    """draft / active / on-hold → cancelled; the series is revoked and its scheduled infusions cancelled."""
    return _step(current, OrderStatus.CANCELLED, cancelled_by, now, reason, reason_required=True)


def complete_order(current: OrderWithSeries, completed_by: Person, now: datetime | None = None,
                   reason: str | None = None) -> OrderWithSeries:
    """active → completed; infusions still scheduled (a series ended early) are cancelled."""
    return _step(current, OrderStatus.COMPLETED, completed_by, now, reason, reason_required=False)


def _step(current: OrderWithSeries, wanted: OrderStatus, by: Person, now: datetime | None, reason: str | None,
          reason_required: bool, from_status: OrderStatus | None = None) -> OrderWithSeries:
    now = current_moment(now)
    _check_transition(current.order, wanted, from_status)
    violations = _who("changed_by", by)
    if reason_required and not (reason or "").strip():
        violations.append(Violation("reason", f"a reason is required to change an order to {wanted.value}"))
    _raise(violations, [])
    return _apply(current, wanted, by, now, reason)


def _apply(current: OrderWithSeries, wanted: OrderStatus, by: Person, now: datetime,
           reason: str | None) -> OrderWithSeries:
    last_change = current.order.history[-1].changed_at
    if now < last_change:
        raise OrdersInputError("now", f"the change is dated before the order's last change ({last_change.isoformat()})")
    change = StatusChange(current.order.status, wanted, by, now, reason)
    order = replace(current.order, status=wanted, history=current.order.history + (change,))
    return OrderWithSeries(order, with_status(current.series, SERIES_STATUS_FOR_ORDER[wanted]))


def _check_transition(order: InfusionOrder, wanted: OrderStatus, from_status: OrderStatus | None = None) -> None:
    """``from_status`` narrows a step to one origin (sign: draft only; resume: on-hold only)."""
    wrong_origin = from_status is not None and order.status is not from_status
    if wanted not in ALLOWED_TRANSITIONS[order.status] or wrong_origin:
        raise IllegalTransitionError(order.status.value, wanted.value)


def _weight_age(calculation: DoseCalculation, now: datetime, settings: ProtocolSettings) -> list[Violation]:
    return weight_violations(calculation.weight, now, settings)


def _who(field: str, person: Person) -> list[Violation]:
    return [] if isinstance(person, Person) else [Violation(field, "who made the change must be recorded")]


def _raise(violations: list[Violation], refusals: list[Violation]) -> None:
    if not violations:
        return
    if refusals:
        raise EligibilityRefusedError.from_violations(violations)
    if any(v.field.startswith("weight") for v in violations):
        raise StaleWeightError.from_violations(violations)
    raise OrdersInputError.from_violations(violations)
