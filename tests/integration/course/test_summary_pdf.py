"""The course summary as PDF with Flask's test client (the orders app as ``bootstrap.build`` wires it, SMART
required, the real EHR sandbox for the patient's identity): read back with pypdf it names the patient as the EHR
has them, the course's status, each PHQ-9 score with its severity and the chart, and says it is not a signed record;
it is never cached; a patient without a course has nothing to print."""
from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from services.orders.bootstrap import build
from tests.integration.course.test_page import ORIGIN, SCOPE, _csrf, _patient, _phq9_form, _signed_course
from tests.support.in_process import smart_service_runtime
from tests.support.smart_sessions import signed_in

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(tmp_path, monkeypatch, ehr):
    monkeypatch.setenv("ORDERS_COURSE_ALERT_SEND_WAIT_S", "0")  # no broker here: the alert stays in the outbox
    runtime = smart_service_runtime("orders", tmp_path, monkeypatch, ehr)
    app, _handlers, _responses = build(runtime)
    return app, runtime, ehr


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def test_the_course_summary_pdf_carries_the_patient_scores_and_chart(stack):
    client, _patient_id, course_id = _signed_course(stack, "KL-1002", "cookie-pdf")
    page = client.get("/ui/course")
    assert b'data-testid="course-pdf-link"' in page.data
    for items in ([2] * 8 + [0], [1] * 8 + [0]):
        recorded = client.post(f"/ui/course/{course_id}/scores", data=_phq9_form(_csrf(page.data), items),
                               headers=ORIGIN)
        assert recorded.status_code == 303

    served = client.get("/ui/course/summary.pdf")
    assert served.status_code == 200 and served.mimetype == "application/pdf"
    assert served.headers["Cache-Control"] == "no-store"
    assert re.fullmatch(r'attachment; filename="treatment-course-\d{4}-\d{2}-\d{2}\.pdf"',
                        served.headers["Content-Disposition"])
    text = _text(served.data)
    assert "James Okafor" in text and "KL-1002" in text and "1969-11-02" in text
    assert "Status: induction" in text
    assert "infusions (numbered) and scores over time" in text and "remission" in text  # the chart's own SVG text
    assert re.search(r"\b16 moderately severe\b", text) and re.search(r"\b8 mild\b", text)
    assert "Not a signed record" in text


def test_a_patient_without_a_course_has_no_summary_to_print(stack):
    app, _runtime, ehr = stack
    client = signed_in(app, _patient(ehr, "KL-1004"), scope=SCOPE, cookie="cookie-none", iss=ehr.base_url)
    assert client.get("/ui/course/summary.pdf").status_code == 404
