"""The Kafka handler tables ``bootstrap.build`` writes out: which event code each handler takes, and that every message
orders and its course publish (and those sent under a code since renamed) has a handler for the EHR's answer."""
from __future__ import annotations

import pytest

from shared.events.event_codes import (
    COURSE_EVENT_CODES, CPOE_ORDER_PLACED, INTAKE_ELIGIBILITY_DECIDED, INTAKE_REOPENED, LEGACY_COURSE_EVENT_CODES,
    ORDER_EVENT_CODES, QUESTIONNAIRE_RESPONSE_RECEIVED, SESSION_COMPLETED,
)
from shared.events.kafka_clients import KafkaSettings
from shared.runtime import ServiceRuntime, ServiceSettings
from services.orders.bootstrap import build


@pytest.fixture
def tables(tmp_path):
    runtime = ServiceRuntime("orders", ServiceSettings(database_url=f"sqlite:///{tmp_path / 'orders.db'}"),
                             KafkaSettings())
    _app, handlers, responses = build(runtime)
    return handlers, responses


def test_the_events_orders_and_its_course_take(tables):
    handlers, _responses = tables
    assert set(handlers) == {INTAKE_ELIGIBILITY_DECIDED, INTAKE_REOPENED, CPOE_ORDER_PLACED, SESSION_COMPLETED,
                             QUESTIONNAIRE_RESPONSE_RECEIVED}


def test_every_message_orders_and_its_course_publish_has_a_handler_for_its_answer(tables):
    """A code missing here dead-letters the EHR's answer, and an EHR refusal goes unseen (HZ-51: answers to
    ``relapse`` messages sent before the rename to ``loss-of-response``)."""
    _handlers, responses = tables
    assert "relapse" in responses
    assert set(responses) == {*ORDER_EVENT_CODES, *COURSE_EVENT_CODES, *LEGACY_COURSE_EVENT_CODES}
