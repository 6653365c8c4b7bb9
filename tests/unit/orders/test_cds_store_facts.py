"""The store's facts a CDS hook card reads (the patient's orders, eligibility decision and open suicidality alerts)
are read on one connection: one pool checkout per hook call instead of one per read (on PostgreSQL each checkout
is a ping and a rollback round trip), with the same answers as each read on its own connection. The checks take a
database URL so tests/integration/orders/test_cds_store_facts_postgres.py runs them on PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from shared.events.kafka_clients import KafkaSettings
from shared.runtime import ServiceRuntime, ServiceSettings
from services.orders.bootstrap import open_alert_ids
from services.orders.cds_hooks.facts import patient_context
from services.orders.course.domain.course import record_score
from services.orders.course.repository import CourseRepository
from services.orders.handlers import OrdersService
from services.orders.repository import OrdersRepository
from tests.unit.orders.builders import NOW, PATIENT, eligibility, settings, signed
from tests.unit.orders.course.builders import START, new_course, phq9, protocol, settings as course_settings


def check_one_checkout_same_facts(database_url: str) -> None:
    runtime = ServiceRuntime("orders", ServiceSettings(database_url=database_url), KafkaSettings())
    orders, alerts_of = OrdersService(runtime, settings(), clock=lambda: NOW), open_alert_ids(runtime)
    course = record_score(new_course(), phq9("p1", 14, START + timedelta(days=10), item9=1), course_settings(),
                          protocol())
    order = signed()
    with runtime.engine.begin() as conn:
        OrdersRepository().add_order(conn, order)
        OrdersRepository().save_eligibility(conn, eligibility())
        CourseRepository().add(conn, course)
    [alert] = course.alerts
    checkouts: list[object] = []
    event.listen(runtime.engine, "checkout", lambda *args: checkouts.append(args))

    context = patient_context(PATIENT, {}, orders, alerts_of, NOW)
    assert len(checkouts) == 1, f"{len(checkouts)} pool checkouts for the hook's store facts"

    assert context.running_order == order and context.eligibility == eligibility()
    assert context.open_suicidality_alert_ids == (alert.alert_id,)
    # the same answers as each read on a connection of its own (the reads' other callers), which checks out per read
    assert orders.patient_orders(PATIENT) == [order] and orders.patient_eligibility(PATIENT) == eligibility()
    assert alerts_of(PATIENT) == (alert.alert_id,)
    assert len(checkouts) == 4
    # a patient with none of them: nothing found, still one checkout
    empty = patient_context("another-patient", {}, orders, alerts_of, NOW)
    assert (empty.running_order, empty.eligibility, empty.open_suicidality_alert_ids) == (None, None, ())
    assert len(checkouts) == 5
    runtime.engine.dispose()


def check_a_commit_between_calls_is_seen(database_url: str) -> None:
    """Freshness: what another connection commits after one hook call is in the next call's facts (the shared
    connection is returned, its transaction ended, at the end of each call)."""
    runtime = ServiceRuntime("orders", ServiceSettings(database_url=database_url), KafkaSettings())
    orders, alerts_of = OrdersService(runtime, settings(), clock=lambda: NOW), open_alert_ids(runtime)
    assert patient_context(PATIENT, {}, orders, alerts_of, NOW).eligibility is None
    with runtime.engine.begin() as conn:
        OrdersRepository().save_eligibility(conn, eligibility())
    assert patient_context(PATIENT, {}, orders, alerts_of, NOW).eligibility == eligibility()
    runtime.engine.dispose()


def test_the_three_store_facts_share_one_checkout(tmp_path) -> None:
    check_one_checkout_same_facts(f"sqlite:///{tmp_path / 'orders.db'}")


def test_a_commit_between_hook_calls_is_seen(tmp_path) -> None:
    check_a_commit_between_calls_is_seen(f"sqlite:///{tmp_path / 'orders.db'}")
