"""The orders commands of the HTTP API and the pages: preview a dose, create a draft order with its series, and
sign, hold, resume or cancel it. Each reads the EHR first (outside the SQL transaction), asks the pure domain, then
writes the order and its outbox event in one ``runtime.transaction()``; domain errors pass through for the web
layer to answer."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from sqlalchemy.engine import Connection

from shared.errors import FieldInputError, Violation
from services.orders.commands import ChangeOrder, CreateOrder, OverrideRequest, PreviewDose
from services.orders.domain import lifecycle
from services.orders.domain.dose import DoseCalculation, DoseOverride, calculate_dose
from services.orders.domain.eligibility import eligibility_violations
from services.orders.domain.errors import EligibilityRefusedError, OrdersInputError, StaleWeightError
from services.orders.domain.order import OrderWithSeries
from services.orders.domain.series import plan_induction
from services.orders.handlers.core import OrdersCore

log = logging.getLogger(__package__)  # one logger for the service layer: services.orders.handlers

T = TypeVar("T")


class OrderCommands(OrdersCore):
    def preview_dose(self, command: PreviewDose) -> DoseCalculation:
        """The calculation an order would carry now; nothing is written."""
        settings = self._settings_for(command.weight_basis)
        facts = self._facts(command.patient_id, settings)
        now = self._now()
        return calculate_dose(facts.weight, facts.height, facts.sex, settings,
                              override=_override(command.override, now), mg_per_kg=command.mg_per_kg,
                              duration_min=command.duration_min, now=now)

    def create_order(self, command: CreateOrder) -> OrderWithSeries:
        """A draft order with its draft induction series. Refused, with every reason at once, unless the patient's
        latest eligibility is eligible with consent on file, the weight is recent and the dose and schedule are
        within the protocol; refused (409) while the patient has a signed series."""
        settings = self._settings_for(command.weight_basis)
        facts = self._facts(command.patient_id, settings)
        now = self._now()
        override = _override(command.override, now)
        with self._runtime.transaction() as conn:
            self._refuse_second_series(conn, command.patient_id)
            eligibility = self._repo.eligibility(conn, command.patient_id)
            refusals = eligibility_violations(eligibility, command.patient_id)
            calculation, dose_problems = _attempt(lambda: calculate_dose(
                facts.weight, facts.height, facts.sex, settings, override=override, mg_per_kg=command.mg_per_kg,
                duration_min=command.duration_min, now=now))
            series, series_problems = _attempt(lambda: plan_induction(
                command.patient_id, command.start_date, settings, infusions_per_week=command.infusions_per_week,
                infusion_count=command.infusion_count, now=now))
            _raise_all(refusals, dose_problems + series_problems)
            assert calculation is not None and series is not None  # no problems means both were made
            current = lifecycle.create_order(command.patient_id, eligibility, calculation, series,
                                             command.created_by, settings, now=now)
            self._repo.add_order(conn, current)
        log.info("order created", extra={"order_id": current.order.order_id, "patient_id": command.patient_id})
        return current

    def sign_order(self, command: ChangeOrder) -> OrderWithSeries:
        """draft → active; re-checks eligibility, consent and the weight's age, and that no other series runs."""
        def sign(conn: Connection, current: OrderWithSeries, now: datetime) -> OrderWithSeries:
            eligibility = self._repo.eligibility(conn, current.order.patient_id)
            signed = lifecycle.sign_order(current, eligibility, command.by, self.settings, now=now)
            if command.attestation:  # the prescriber's attestation, kept with the signature (shared/roles.py)
                *before, signature = signed.order.history
                signed = replace(signed, order=replace(signed.order, history=(
                    *before, replace(signature, attestation=command.attestation))))
            self._refuse_second_series(conn, current.order.patient_id, except_order_id=current.order.order_id)
            return signed

        return self._change(command.order_id, sign)

    def hold_order(self, command: ChangeOrder) -> OrderWithSeries:
        return self._change(command.order_id, lambda _conn, current, now: lifecycle.hold_order(
            current, command.by, command.reason or "", now=now))

    def resume_order(self, command: ChangeOrder) -> OrderWithSeries:
        """on-hold → active; refused, like a signature, while the patient's eligibility does not allow an order
        (e.g. the intake was reopened and has not decided again)."""
        def resume(conn: Connection, current: OrderWithSeries, now: datetime) -> OrderWithSeries:
            refusals = eligibility_violations(self._repo.eligibility(conn, current.order.patient_id),
                                              current.order.patient_id)
            if refusals:
                raise EligibilityRefusedError.from_violations(refusals)
            return lifecycle.resume_order(current, command.by, now=now, reason=command.reason)

        return self._change(command.order_id, resume)

    def cancel_order(self, command: ChangeOrder) -> OrderWithSeries:
        return self._change(command.order_id, lambda _conn, current, now: lifecycle.cancel_order(
            current, command.by, command.reason or "", now=now))


def _override(request: OverrideRequest | None, now: datetime) -> DoseOverride | None:
    return None if request is None else DoseOverride(request.reason, request.authorised_by, now)


def _attempt(make: Callable[[], T]) -> tuple[T | None, list[Violation]]:
    """(result, []) or (None, the violations it raised): lets create report every problem in one answer."""
    try:
        return make(), []
    except FieldInputError as error:
        return None, list(error.violations)


def _raise_all(refusals: list[Violation], problems: list[Violation]) -> None:
    """Eligibility refusals and a stale weight are business-rule refusals (422); the rest is bad input (400)."""
    violations = refusals + problems
    if not violations:
        return
    if refusals:
        raise EligibilityRefusedError.from_violations(violations)
    if any(v.field == "weight" or v.field.startswith("weight.") for v in problems):
        raise StaleWeightError.from_violations(violations)
    raise OrdersInputError.from_violations(violations)
