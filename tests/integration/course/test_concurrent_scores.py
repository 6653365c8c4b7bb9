"""Scores appended to one treatment course at once never conflict: ten PHQ-9s posted together (the portal's and a
clinician's, say) are all accepted on their first attempt and are each on the course once. Against a real orders
service (its own store) with the session's broker and EHR sandbox."""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from tests.integration.course.support import CourseClinic, phq9_items
from tests.integration.documentation.clinic import NURSE, Clinic
from tests.support.service_stack import services_reading_from_the_end

pytestmark = pytest.mark.integration

SCORES = 10


@pytest.fixture(scope="module")
def stack(broker, ehr, log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CourseClinic]:
    """The orders service with its own store (no other test's course for the patient)."""
    with services_reading_from_the_end(("orders",), "concurrent", broker.bootstrap, ehr.base_url, log_dir,
                                       tmp_path_factory.mktemp("concurrent-scores")) as urls:
        yield CourseClinic(urls["orders"], Clinic("", broker.bootstrap, ehr), broker.bootstrap, ehr)


def test_ten_concurrent_scores_are_all_accepted_first_time_and_recorded_once(stack: CourseClinic):
    patient_id = stack.documentation.patient_id("KL-1002")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    stack.decide_with_baseline(patient_id, 22, now - timedelta(days=2))
    course_id = stack.sign_induction(patient_id).course_id
    times = [(now - timedelta(hours=10) + timedelta(minutes=7 * n)).isoformat() for n in range(SCORES)]
    barrier = threading.Barrier(SCORES)

    def post(measured_at: str) -> requests.Response:
        http = requests.Session()
        barrier.wait(timeout=30)
        return http.post(f"{stack.orders_url}/courses/{course_id}/scores", timeout=60, json={
            "scale": "phq-9", "items": phq9_items(18), "context": "pre-infusion", "measured_at": measured_at,
            "recorded_by": NURSE})

    with ThreadPoolExecutor(max_workers=SCORES) as pool:
        responses = list(pool.map(post, times))

    refused = [f"{r.status_code} {r.text[:200]}" for r in responses if r.status_code != 201]
    assert not refused, f"not accepted first time: {refused}"
    points = [p for s in stack.course(patient_id)["summary"]["series"] if s["scale"] == "phq-9" for p in s["points"]]
    on_course = Counter(p["measured_at"] for p in points)
    assert {t: on_course[t] for t in times} == {t: 1 for t in times}
