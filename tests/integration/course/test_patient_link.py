"""The patient's questionnaire link over the wire (real orders process, broker and EHR sandbox): a link made through
the API is filled as a plain form post (what a phone sends); the score is in the course with the patient as its
source, its Observation reaches the EHR with the patient as performer and its QuestionnaireResponse with the
patient as source; a positive item 9 puts the suicidality alert on the topic before the answer returns; a second
submission of the same link records nothing (410) and an unknown link is a 404 that says nothing."""
from __future__ import annotations

import re

import pytest
import requests

from tests.integration.course.support import CourseClinic, Induction, hours_ago

pytestmark = pytest.mark.integration

PHQ9_ANSWERS = {"item-1": "2", "item-2": "2", "item-3": "1", "item-4": "2", "item-5": "1", "item-6": "1",
                "item-7": "1", "item-8": "0", "item-9": "1"}  # total 11, item 9 positive


@pytest.fixture(scope="module")
def induction(course_stack: CourseClinic) -> Induction:
    """KL-1003's course: the one an earlier module of this package started, else a new one (run alone)."""
    patient_id = course_stack.documentation.patient_id("KL-1003")
    existing = requests.get(f"{course_stack.orders_url}/patients/{patient_id}/course", timeout=15)
    if existing.status_code == 200 and existing.json()["status"] != "stopped":
        return Induction(patient_id, "", "", existing.json()["course_id"])
    course_stack.decide_with_baseline(patient_id, 16, answered_at=hours_ago(30))
    return course_stack.sign_induction(patient_id)


def _form_post(url: str, data: dict[str, str]) -> requests.Response:
    return requests.post(url, data=data, timeout=30, allow_redirects=False)


def test_a_filled_link_is_a_patient_score_in_the_course_and_the_ehr_with_the_alert_in_the_same_request(
        course_stack: CourseClinic, induction: Induction):
    clinic = course_stack
    link = clinic.post(f"/courses/{induction.course_id}/patient-links",
                       {"scale": "phq-9", "created_by": "Dr. Adaeze Okoye"}, 201)
    url = link["url"]
    token = url.rsplit("/q/", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token) and induction.patient_id not in url
    assert link["state"] == "open" and "token" not in link

    page = requests.get(url, timeout=15)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Over the last 2 weeks" in page.text and 'name="item-9"' in page.text
    assert induction.patient_id not in page.text and "Lindqvist" not in page.text  # the page names nobody

    missing = _form_post(url, {k: v for k, v in PHQ9_ANSWERS.items() if k != "item-4"})
    assert missing.status_code == 400 and 'href="#item-4"' in missing.text

    answered = _form_post(url, PHQ9_ANSWERS)
    assert answered.status_code == 201, answered.text
    assert 'data-testid="crisis-contacts"' in answered.text and "988" in answered.text
    assert answered.text.index("crisis-contacts") < answered.text.index("answers-sent")  # contacts first

    # Right away (no waiting): the course has the score and the open alert, and the alert message is on the topic.
    course = clinic.course(induction.patient_id)
    measurement_id = f"patient-link-{link['link_id']}"
    [alert] = [a for a in course["alerts"] if a["measurement_id"] == measurement_id]
    assert alert["source"] == "phq9-item9"
    assert any(a["alert_id"] == alert["alert_id"] for a in course["summary"]["open_alerts"])
    assert clinic.messages(induction.patient_id, "suicidality-alert", course_id=induction.course_id)

    observation = clinic.in_ehr("Observation", "course-score", measurement_id)
    assert observation["performer"][0]["reference"] == f"Patient/{induction.patient_id}"
    assert observation["valueQuantity"]["value"] == 11
    assert observation["method"]["coding"][0]["code"] == "score-source-patient-link"
    response = clinic.in_ehr("QuestionnaireResponse", "course-questionnaire-response", measurement_id)
    assert response["source"]["reference"] == f"Patient/{induction.patient_id}" and "author" not in response

    again = _form_post(url, PHQ9_ANSWERS)  # the retried submission
    assert again.status_code == 410 and "already been sent" in again.text
    assert requests.get(url, timeout=15).status_code == 410
    listed = clinic.get(f"/courses/{induction.course_id}/questionnaires")
    [used] = [entry for entry in listed["links"] if entry["link_id"] == link["link_id"]]
    assert used["state"] == "used" and "url" not in used
    assert [d["scale"] for d in listed["due"]] == ["phq-9"] and listed["due"][0]["state"] == "not-due"
    clinic_due = clinic.get("/questionnaires/due")["due"]  # across the clinic: the answered PHQ-9 is off it
    assert not [row for row in clinic_due if row["course_id"] == induction.course_id and row["scale"] == "phq-9"]
    series = clinic.get(f"/courses/{induction.course_id}")["summary"]["series"]
    points = [p for s in series for p in s["points"] if p["measurement_id"] == measurement_id]
    assert len(points) == 1 and points[0]["total"] == 11  # one score, however often the form was sent


def test_unknown_and_malformed_links_are_a_plain_404(course_stack: CourseClinic):
    for token in ("A" * 43, "not-a-token", "a" * 500):
        answer = requests.get(f"{course_stack.orders_url}/q/{token}", timeout=15)
        assert answer.status_code == 404 and "Questionnaire not found" in answer.text
        assert "Traceback" not in answer.text


def test_a_scale_the_clinic_does_not_schedule_is_refused(course_stack: CourseClinic, induction: Induction):
    refused = course_stack.post(f"/courses/{induction.course_id}/patient-links",
                                {"scale": "madrs", "created_by": "Dr. Adaeze Okoye"}, 400)
    assert refused["resourceType"] == "OperationOutcome"
