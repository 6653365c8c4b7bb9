"""Issue 13 defect 7 in the course's service layer: a deferred induction infusion is made up within the series
(documentation's ``session-completed`` → the series gets one more infusion, published as ``order-changed``); once
the series ends, however many were given, the course moves to its response check."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from services.documentation.domain import session as documentation_session
from services.documentation.translators.message_out import session_completed_focus
from services.orders.course.domain import course as steps
from services.orders.course.domain.model import CourseStatus, TaskKind
from services.orders.course.domain.settings import CourseSettings
from services.orders.course.handlers import CourseService
from services.orders.domain.dose import calculate_dose
from services.orders.domain.eligibility import EligibilityDecision, EligibilityStatus
from services.orders.domain.lifecycle import create_order, sign_order
from services.orders.domain.measurements import BodyWeight
from services.orders.domain.order import OrderStatus
from services.orders.domain.series import plan_induction
from services.orders.domain.settings import ProtocolSettings
from services.orders.repository import OrdersRepository
from shared.db import outbox
from shared.events.consumer import MessageProcessor
from shared.events.kafka_clients import KafkaSettings
from shared.fhir.messaging import build_message, parse_message
from shared.runtime import ServiceRuntime, ServiceSettings
from tests.unit.documentation import builders as doc
from tests.unit.orders.course.builders import session_completed_handler
from tests.unit.orders.builders import PRESCRIBER
from shared.people import Person

PATIENT = "pat-42"
SIGNED_AT = datetime(2026, 2, 27, 15, 0, tzinfo=timezone.utc)
NOW = datetime(2026, 3, 6, 12, 0, tzinfo=timezone.utc)
TOPIC = "ketalink.documentation.events"


@pytest.fixture
def runtime(tmp_path) -> ServiceRuntime:
    return ServiceRuntime("orders", ServiceSettings(database_url=f"sqlite:///{tmp_path / 'orders.db'}"),
                          KafkaSettings())


def _service(runtime, **protocol_changes) -> CourseService:
    protocol = replace(ProtocolSettings(), **protocol_changes)
    protocol.validate()
    return CourseService(runtime, CourseSettings(), protocol, clock=lambda: NOW)


def _sign_two_infusion_induction(runtime, service: CourseService):
    """An induction of 2 (2 per week from 2 Mar), signed, with its course started in the sign's transaction."""
    protocol = ProtocolSettings()
    weight = BodyWeight(80.0, SIGNED_AT - timedelta(days=2), "wt-1")
    eligibility = EligibilityDecision(PATIENT, "intake-1", EligibilityStatus.ELIGIBLE, True, SIGNED_AT)
    series = plan_induction(PATIENT, date(2026, 3, 2), protocol, infusion_count=2, now=SIGNED_AT)
    draft = create_order(PATIENT, eligibility, calculate_dose(weight, None, None, protocol, now=SIGNED_AT), series,
                         PRESCRIBER, protocol, now=SIGNED_AT, order_id="ord-1")
    placed = sign_order(draft, eligibility, PRESCRIBER, protocol, now=SIGNED_AT)
    with runtime.transaction() as conn:
        OrdersRepository().add_order(conn, placed)
        service.on_order_event(conn, placed, "order-signed")
    return placed


def _first_given_second_deferred(runtime, service: CourseService, placed) -> None:
    order = doc.make_order(order_id="ord-1", series_id=placed.series.series_id, patient_id=PATIENT)
    handler = session_completed_handler(runtime, service, lambda: NOW)
    processor = MessageProcessor(runtime.engine, {"session-completed": handler})
    given = build_message("session-completed", "urn:ketalink:documentation",
                          session_completed_focus(doc.discharged(order), order))
    assert processor.process(TOPIC, json.dumps(given).encode()) == "done"
    second = documentation_session.check_in(documentation_session.create_session(order, 2), order, doc.NURSE,
                                            doc.at(9, 0, day=5))
    deferred = documentation_session.defer(second, "BP 182/112 twice", doc.NURSE, doc.at(9, 20, day=5))
    message = build_message("session-completed", "urn:ketalink:documentation",
                            session_completed_focus(deferred, order))
    assert processor.process(TOPIC, json.dumps(message).encode()) == "done"


def _published(runtime) -> list[tuple[str, dict]]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.event_code, outbox.c.payload).order_by(outbox.c.id)).all()
    return [(row.event_code, json.loads(row.payload)) for row in rows]


def test_a_deferred_infusion_is_made_up_and_the_course_waits_for_it(runtime):
    service = _service(runtime)
    placed = _sign_two_infusion_induction(runtime, service)
    _first_given_second_deferred(runtime, service, placed)
    with runtime.engine.connect() as conn:
        current = OrdersRepository().get_order(conn, "ord-1").current
    assert [(i.status.value, i.makeup_for) for i in current.series.infusions] == [
        ("completed", None), ("cancelled", None), ("scheduled", 2)]
    assert current.order.status is OrderStatus.ACTIVE
    care_plan = parse_message(_published(runtime)[-1][1]).first("CarePlan")
    assert [a["detail"]["status"] for a in care_plan["activity"]] == ["completed", "cancelled", "scheduled"]
    assert service.patient_course(PATIENT).course.status is CourseStatus.INDUCTION


def test_the_response_check_runs_when_the_series_ends_with_fewer_given(runtime):
    service = _service(runtime, makeup_max_infusions=0)
    placed = _sign_two_infusion_induction(runtime, service)
    _first_given_second_deferred(runtime, service, placed)
    with runtime.engine.connect() as conn:
        assert OrdersRepository().get_order(conn, "ord-1").current.order.status is OrderStatus.COMPLETED
    course = service.patient_course(PATIENT).course
    assert course.status is CourseStatus.RESPONSE_CHECK
    assert "1 of 2 planned infusions given" in course.transitions[-1].note
    [task] = course.open_tasks
    assert task.kind is TaskKind.REEVALUATION and "after 1 induction infusions" in task.reason


def test_a_series_ending_changes_nothing_once_the_course_left_induction():
    course = steps.start_course("c-1", PATIENT, SIGNED_AT, Person("Practitioner/dr-a", "Dr A"), CourseSettings(), ProtocolSettings(),
                                induction_infusions=2)
    ended = steps.induction_series_ended(course, NOW, CourseSettings(), ProtocolSettings())
    assert ended.status is CourseStatus.RESPONSE_CHECK
    assert "0 of 2 planned infusions given" in ended.transitions[-1].note
    assert steps.induction_series_ended(ended, NOW, CourseSettings(), ProtocolSettings()) is ended
