"""Issue 13 defect 23: reopening an intake withdraws its decision wherever orders uses it. The intake publishes
``intake-reopened`` (its RiskAssessment ``cancelled``); orders then refuses to create, sign or resume an order for the
patient until the intake decides again, and puts an active order on hold."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.recording import reopen_intake
from services.intake.domain.settings import IntakeSettings
from services.intake.messages import reopened_message
from services.orders.commands import ChangeOrder
from services.orders.domain.eligibility import EligibilityStatus, eligibility_violations, withdrawn
from services.orders.domain.errors import EligibilityRefusedError
from services.orders.domain.lifecycle import create_order, hold_order, sign_order
from services.orders.domain.order import OrderStatus
from services.orders.handlers import OrdersService
from services.orders.repository import OrdersRepository
from shared.errors import FhirMappingError
from services.orders.translators.risk_assessment_in import withdrawal_from_risk_assessment
from shared.db import outbox
from shared.events.event_codes import INTAKE_REOPENED
from shared.events.kafka_clients import KafkaSettings
from shared.fhir.messaging import parse_message
from shared.runtime import ServiceRuntime, ServiceSettings
from tests.unit.intake.builders import DECIDED_AT, HOPPER, eligible_intake
from tests.unit.orders.builders import INTAKE, NOW, PATIENT, draft, eligibility, settings, signed
from tests.unit.orders.builders import PRESCRIBER

REOPENED_AT = NOW + timedelta(hours=1)


def _reopened_message(patient_id: str = PATIENT, intake_id: str = INTAKE, reopened_at=REOPENED_AT) -> dict:
    """The intake's own ``intake-reopened`` message for a decided intake of ``patient_id`` reopened at
    ``reopened_at``."""
    intake_settings = IntakeSettings()
    decided = decide_eligibility(replace(eligible_intake(intake_settings, patient_id), intake_id=intake_id),
                                 intake_settings, DECIDED_AT)
    return reopened_message(reopen_intake(decided, HOPPER, reopened_at, "new cardiac history"),
                            "urn:ketalink:intake")


# --- intake → FHIR → orders -----------------------------------------------------------------------------------------
def test_reopened_intake_publishes_its_decision_as_a_cancelled_risk_assessment_orders_reads_as_a_withdrawal():
    message = parse_message(_reopened_message())
    assert message.event_code == INTAKE_REOPENED
    [risk_assessment] = message.all("RiskAssessment")
    assert risk_assessment["status"] == "cancelled"
    assert "reopened" in risk_assessment["note"][0]["text"]
    withdrawal = withdrawal_from_risk_assessment(risk_assessment)
    assert (withdrawal.patient_id, withdrawal.intake_id, withdrawal.withdrawn_at) == (PATIENT, INTAKE, REOPENED_AT)


def test_a_withdrawal_without_the_time_it_was_withdrawn_is_refused_naming_the_element():
    [risk_assessment] = parse_message(_reopened_message()).all("RiskAssessment")
    del risk_assessment["note"]
    with pytest.raises(FhirMappingError) as caught:
        withdrawal_from_risk_assessment(risk_assessment)
    assert caught.value.field == "RiskAssessment.note[0].time"


# --- the rule ---------------------------------------------------------------------------------------------------------
def test_withdrawn_eligibility_refuses_an_order_with_the_reason():
    current = withdrawn(eligibility(), INTAKE, REOPENED_AT)
    assert current is not None and current.status is EligibilityStatus.WITHDRAWN
    assert current.decided_at == REOPENED_AT  # a late copy of the old decision is older, so it cannot bring it back
    assert [v.field for v in eligibility_violations(current, PATIENT)] == ["eligibility.status"]
    assert "reopened" in eligibility_violations(current, PATIENT)[0].message


def test_withdrawing_changes_nothing_for_another_intake_or_a_newer_decision():
    assert withdrawn(eligibility(), "intake-other", REOPENED_AT) is None
    assert withdrawn(eligibility(decided_at=REOPENED_AT + timedelta(minutes=1)), INTAKE, REOPENED_AT) is None
    assert withdrawn(None, INTAKE, REOPENED_AT) is None


def test_a_reopening_in_the_same_second_as_the_decision_still_withdraws_it():
    """Both times travel as whole-second FHIR instants: a reopening right after the decision has the same time."""
    current = withdrawn(eligibility(decided_at=REOPENED_AT), INTAKE, REOPENED_AT)
    assert current is not None and current.status is EligibilityStatus.WITHDRAWN


def test_withdrawn_eligibility_refuses_create_and_sign():
    current = withdrawn(eligibility(), INTAKE, REOPENED_AT)
    order = draft()
    with pytest.raises(EligibilityRefusedError):
        create_order(PATIENT, current, order.order.calculation, order.series, PRESCRIBER, settings(),
                     now=NOW)
    with pytest.raises(EligibilityRefusedError):
        sign_order(order, current, PRESCRIBER, settings(), now=NOW + timedelta(minutes=5))


# --- the service: the message, the stored decision, the active order ------------------------------------------------
@pytest.fixture
def runtime(tmp_path) -> ServiceRuntime:
    return ServiceRuntime("orders", ServiceSettings(database_url=f"sqlite:///{tmp_path / 'orders.db'}"),
                          KafkaSettings())


@pytest.fixture
def service(runtime) -> OrdersService:
    return OrdersService(runtime, settings(), clock=lambda: REOPENED_AT + timedelta(minutes=1))


def _deliver(runtime: ServiceRuntime, handler, message: dict) -> None:
    with runtime.transaction() as conn:
        handler(parse_message(message), conn)


def _published(runtime) -> list[tuple[str, dict]]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.event_code, outbox.c.payload).order_by(outbox.c.id)).all()
    return [(row.event_code, json.loads(row.payload)) for row in rows]


def test_intake_reopened_withdraws_eligibility_and_holds_the_active_order(runtime, service):
    repo = OrdersRepository()
    with runtime.transaction() as conn:
        repo.save_eligibility(conn, eligibility())
        repo.add_order(conn, signed())
    _deliver(runtime, service.on_intake_reopened, _reopened_message())
    assert service.patient_eligibility(PATIENT).status is EligibilityStatus.WITHDRAWN
    held = service.get_order("order-1")
    assert held.order.status is OrderStatus.ON_HOLD
    assert "intake was reopened" in (held.order.history[-1].reason or "")
    assert [code for code, _ in _published(runtime)] == ["order-changed"]
    with pytest.raises(EligibilityRefusedError):
        service.resume_order(ChangeOrder("order-1", PRESCRIBER))
    # The intake decides again: the order may be resumed.
    with runtime.transaction() as conn:
        repo.save_eligibility(conn, eligibility(decided_at=REOPENED_AT + timedelta(seconds=30)))
    assert service.resume_order(ChangeOrder("order-1", PRESCRIBER)).order.status is OrderStatus.ACTIVE


def test_intake_reopened_refuses_to_sign_a_draft(runtime, service):
    repo = OrdersRepository()
    with runtime.transaction() as conn:
        repo.save_eligibility(conn, eligibility())
        repo.add_order(conn, draft())
    _deliver(runtime, service.on_intake_reopened, _reopened_message())
    with pytest.raises(EligibilityRefusedError) as caught:
        service.sign_order(ChangeOrder("order-1", PRESCRIBER))
    assert caught.value.field == "eligibility.status"
    assert service.get_order("order-1").order.status is OrderStatus.DRAFT


def test_a_late_copy_of_the_withdrawn_decision_does_not_restore_eligibility(runtime, service):
    repo = OrdersRepository()
    with runtime.transaction() as conn:
        repo.save_eligibility(conn, eligibility())
    _deliver(runtime, service.on_intake_reopened, _reopened_message())
    with runtime.transaction() as conn:
        assert repo.save_eligibility(conn, eligibility()) is False
    assert service.patient_eligibility(PATIENT).status is EligibilityStatus.WITHDRAWN


def test_an_on_hold_order_stays_on_hold_and_nothing_is_published_twice(runtime, service):
    repo = OrdersRepository()
    with runtime.transaction() as conn:
        repo.save_eligibility(conn, eligibility())
        repo.add_order(conn, hold_order(signed(), PRESCRIBER, "BP", now=NOW + timedelta(minutes=10)))
    message = _reopened_message()
    _deliver(runtime, service.on_intake_reopened, message)
    _deliver(runtime, service.on_intake_reopened, message)
    assert _published(runtime) == []
    assert service.patient_eligibility(PATIENT).status is EligibilityStatus.WITHDRAWN
