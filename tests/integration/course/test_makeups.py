"""Issue 13 defect 7 across documentation → orders, over the real broker and EHR sandbox: a deferred induction
infusion is made up within the series (orders adds an infusion and publishes ``order-changed``; documentation
schedules its session), at most ``ORDERS_MAKEUP_MAX_INFUSIONS`` (2) times; when the series ends, however many were
given, the course moves to its response check with a re-evaluation task."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.integration.course.support import PRESCRIBER, CourseClinic
from tests.integration.documentation.clinic import NURSE, Clinic
from tests.support.kafka_tools import wait_for
from tests.support.service_stack import services_reading_from_the_end
from tests.support.clinic_zone import clinic_today

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(broker, ehr, log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CourseClinic]:
    """Orders and documentation with their own stores (no other test's series for the patient)."""
    with services_reading_from_the_end(("orders", "documentation"), "makeup", broker.bootstrap, ehr.base_url,
                                       log_dir, tmp_path_factory.mktemp("makeup")) as urls:
        yield CourseClinic(urls["orders"], Clinic(urls["documentation"], broker.bootstrap, ehr), broker.bootstrap,
                           ehr)


def _session_numbers(clinic: CourseClinic, patient_id: str, order_id: str) -> list[int]:
    return sorted(int(s["session_id"].rpartition("-")[2])
                  for s in clinic.documentation.sessions(patient_id, order_id))


def _defer(clinic: CourseClinic, patient_id: str, order_id: str, number: int, expect_sessions: int) -> None:
    wait_for(lambda: len(_session_numbers(clinic, patient_id, order_id)) >= number, timeout_s=45,
             what=f"session {number} scheduled")
    clinic.documentation.post(f"/sessions/{order_id}-{number}/defer", {"by": NURSE, "reason": "patient unwell"})
    wait_for(lambda: len(_session_numbers(clinic, patient_id, order_id)) == expect_sessions and
             clinic.get(f"/orders/{order_id}")["series"]["infusions"][number - 1]["status"] == "cancelled",
             timeout_s=45, what=f"orders to hear infusion {number} deferred")


def test_deferred_infusions_are_made_up_and_the_response_check_runs_when_the_series_ends(stack):
    patient_id = stack.documentation.patient_id("KL-1001")
    stack.decide_with_baseline(patient_id, 20, datetime.now(timezone.utc) - timedelta(days=2))
    created = stack.post("/orders", {"patient_id": patient_id, "start_date": clinic_today().isoformat(),
                                     "created_by": PRESCRIBER, "infusion_count": 2}, 201)
    order_id = created["order_id"]
    stack.post(f"/orders/{order_id}/sign", {"signed_by": PRESCRIBER, "attested": True})
    assert stack.course(patient_id)["status"] == "induction"

    # Infusion 1 deferred: made up by infusion 3 after the last planned window; documentation schedules it.
    _defer(stack, patient_id, order_id, 1, expect_sessions=3)
    order = stack.get(f"/orders/{order_id}")
    makeup = order["series"]["infusions"][2]
    assert makeup["makeup_for"] == 1 and makeup["status"] == "scheduled"
    assert makeup["window_start"] > order["series"]["infusions"][1]["window_end"]
    assert order["status"] == "active" and stack.course(patient_id)["status"] == "induction"

    # Infusion 2 deferred: the second make-up; the clinic allows no third.
    _defer(stack, patient_id, order_id, 2, expect_sessions=4)
    _defer(stack, patient_id, order_id, 3, expect_sessions=4)
    assert stack.course(patient_id)["status"] == "induction"  # infusion 4 is still to come

    # The last one deferred too: the series has ended with none given, and the course does not wait for ever.
    _defer(stack, patient_id, order_id, 4, expect_sessions=4)
    assert stack.get(f"/orders/{order_id}")["status"] == "completed"
    course = stack.wait_course(patient_id, lambda c: c["status"] == "response-check",
                               what="the response check once the series ended")
    [task] = course["tasks"]
    assert task["kind"] == "reevaluation" and "after 0 induction infusions" in task["reason"]
