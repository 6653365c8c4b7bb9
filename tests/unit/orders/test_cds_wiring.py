"""The CDS Hooks wiring in ``bootstrap.py``: the open suicidality alerts the cards see are the course's own, from the
service's database (an acknowledged one is not open), and a bad ``ORDERS_CDS_*`` value stops the build."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.events.kafka_clients import KafkaSettings
from shared.runtime import ServiceRuntime, ServiceSettings
from services.orders.bootstrap import build, open_alert_ids
from services.orders.course.domain.course import acknowledge_alert, record_score
from services.orders.course.repository import CourseRepository
from tests.unit.orders.builders import PRESCRIBER
from tests.unit.orders.course.builders import PATIENT, START, new_course, phq9, protocol, settings

AT = START + timedelta(days=10)


@pytest.fixture
def runtime(tmp_path):
    return ServiceRuntime("orders", ServiceSettings(database_url=f"sqlite:///{tmp_path / 'orders.db'}"),
                          KafkaSettings())


def test_the_cards_see_the_course_s_open_alerts_only(runtime) -> None:
    alerts_of = open_alert_ids(runtime)
    assert alerts_of(PATIENT) == ()
    course = record_score(new_course(), phq9("p1", 14, AT, item9=1), settings(), protocol())
    repository = CourseRepository()
    with runtime.engine.begin() as conn:
        loaded = repository.add(conn, course)
    [alert] = course.alerts
    assert alerts_of(PATIENT) == (alert.alert_id,)
    assert alerts_of("another-patient") == ()
    done = acknowledge_alert(course, alert.alert_id, PRESCRIBER, AT + timedelta(hours=1), "safety plan reviewed")
    with runtime.engine.begin() as conn:
        repository.save(conn, loaded, done)
    assert alerts_of(PATIENT) == ()


def test_a_bad_cds_setting_stops_the_build(runtime, monkeypatch) -> None:
    monkeypatch.setenv("ORDERS_CDS_TRUSTED_ISSUERS", '{"https://ehr": {"jwks_file": "/no/such/jwks.json"}}')
    with pytest.raises(SystemExit, match="ORDERS_CDS_"):
        build(runtime)
