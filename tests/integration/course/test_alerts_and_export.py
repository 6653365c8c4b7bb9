"""Suicidality alerts and the outcomes export over the wire. A positive C-SSRS screener (or PHQ-9 item 9) raises a
``suicidality-alert`` message in the same request: it is on ``ketalink.orders.events`` when the POST returns, and
the DetectedIssue reaches the EHR. The de-identified export (CSV and FHIR Bundle) carries none of the patients'
names, birth dates, MRNs or ids, nor the course, order or session ids."""
from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date

import pytest
import requests

from deploy.ehr_sandbox.ehr_events import EHR_ENDPOINT
from deploy.ehr_sandbox.seed import MRN_SYSTEM
from shared.events.topics import EHR_EVENTS, dead_letter_topic
from shared.fhir.messaging import build_message
from tests.integration.course.support import CourseClinic, Induction, hours_ago
from tests.support.kafka_tools import publish, read_all, wait_for
from tests.support.clinic_zone import clinic_today

pytestmark = pytest.mark.integration

POSITIVE_SCREENER = {"wish-to-be-dead": True, "suicidal-thoughts": True, "ideation-with-method": True,
                     "ideation-with-intent": False, "ideation-with-plan-and-intent": False,
                     "suicidal-behaviour-lifetime": False}


@pytest.fixture(scope="module")
def induction(course_stack: CourseClinic) -> Induction:
    patient_id = course_stack.documentation.patient_id("KL-1003")
    course_stack.decide_with_baseline(patient_id, 18, answered_at=hours_ago(30))
    return course_stack.sign_induction(patient_id)


def test_a_positive_cssrs_item_puts_the_alert_on_the_topic_within_the_request(course_stack: CourseClinic,
                                                                               induction: Induction):
    clinic = course_stack
    answer = clinic.post(f"/courses/{induction.course_id}/cssrs", {
        "answers": POSITIVE_SCREENER, "context": "pre-infusion", "recorded_by": "RN Dana Hill"}, 201)
    [alert] = answer["alerts_raised"]
    assert alert["event_code"] == "suicidality-alert" and alert["level"] == "moderate"
    assert alert["sent_to_broker"] is True

    # Read the topic right away: the message is there already, on its own, with the DetectedIssue and its evidence.
    [message] = [m for m in clinic.messages(induction.patient_id, "suicidality-alert")
                 if m.message_id == alert["message_id"]]
    issue = message.first("DetectedIssue")
    assert issue["severity"] == "moderate" and issue["identifier"][0]["value"] == alert["about"]
    assert issue["detail"].startswith("C-SSRS screener risk moderate: endorsed wish to be dead, suicidal thoughts, "
                                      "ideation with method")
    assert message.first("Observation")["code"]["coding"][0]["code"] == "93374-7"
    assert message.first("QuestionnaireResponse") is not None
    [open_alert] = answer["summary"]["open_alerts"]
    assert open_alert["alert_id"] == alert["about"]
    assert answer["summary"]["due"][0]["kind"] == "suicidality-alert"

    in_ehr = clinic.in_ehr("DetectedIssue", "course-suicidality-alert", alert["about"])
    assert in_ehr["evidence"][0]["detail"][0]["reference"].startswith("Observation/")
    assert in_ehr["implicated"][0]["reference"].startswith("CarePlan/")

    # The same screener again (a retry with its measurement id) raises nothing twice.
    measurement_id = answer["alerts"][0]["measurement_id"]
    again = clinic.post(f"/courses/{induction.course_id}/cssrs", {
        "answers": POSITIVE_SCREENER, "measurement_id": measurement_id, "measured_at": answer["alerts"][0][
            "raised_at"], "recorded_by": "RN Dana Hill"}, 201)
    assert again["events"] == [] and len(again["alerts"]) == 1

    # The prescriber acknowledges it with the action taken: the DetectedIssue gets its mitigation.
    acknowledged = clinic.post(f"/courses/{induction.course_id}/alerts/{alert['about']}/acknowledge", {
        "by": "Dr Ada Prescriber", "action_taken": "called the patient; safety plan reviewed"})
    assert acknowledged["summary"]["open_alerts"] == []
    assert [e["event_code"] for e in acknowledged["events"]] == ["suicidality-alert-acknowledged"]
    clinic.in_ehr("DetectedIssue", "course-suicidality-alert", alert["about"],
                  until=lambda r: r.get("mitigation", [{}])[0].get("action", {}).get("text")
                  == "called the patient; safety plan reviewed")
    twice = clinic.post(f"/courses/{induction.course_id}/alerts/{alert['about']}/acknowledge", {
        "by": "Dr Ada Prescriber", "action_taken": "again"}, expect=409)
    assert twice["issue"][0]["expression"] == ["alert_id"]


def test_phq9_item_9_raises_an_alert_too_and_bad_items_are_named(course_stack: CourseClinic, induction: Induction):
    clinic = course_stack
    answer = clinic.score(induction.course_id, 12, hours_ago(1), item9=1, context="follow-up")
    [alert] = answer["alerts_raised"]
    assert alert["sent_to_broker"] is True and alert["about"].endswith("-phq9-item9")
    assert [e["event_code"] for e in answer["events"]][:2] == ["suicidality-alert", "score-recorded"]

    bad = requests.post(f"{clinic.orders_url}/courses/{induction.course_id}/scores", json={
        "scale": "phq-9", "items": [1, 1, 1, 1, 1, 1, 1, 1, 4], "recorded_by": "RN"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["issue"][0]["expression"] == ["score.items[8]"]
    unknown = requests.post(f"{clinic.orders_url}/courses/no-such-course/scores", json={
        "scale": "phq-9", "items": [0] * 9, "recorded_by": "RN"}, timeout=10)
    assert unknown.status_code == 404 and unknown.json()["issue"][0]["expression"] == ["course_id"]


def test_a_madrs_item_10_of_6_raises_a_high_suicidality_alert_that_reaches_the_ehr(course_stack: CourseClinic,
                                                                                   induction: Induction):
    """Issue 13 defect 3: MADRS item 10 = 6 used to pass silently; now it alerts through the same path as PHQ-9
    item 9 (its own message at once, the DetectedIssue in the EHR), high at the item's top answer."""
    clinic = course_stack
    answer = clinic.post(f"/courses/{induction.course_id}/scores", {
        "scale": "madrs", "items": [3, 3, 2, 2, 1, 2, 2, 2, 3, 6], "context": "follow-up",
        "measured_at": hours_ago(2).isoformat(), "recorded_by": "Dr Ada Prescriber"}, 201)
    [alert] = answer["alerts_raised"]
    assert alert["event_code"] == "suicidality-alert" and alert["level"] == "high"
    assert alert["sent_to_broker"] is True and alert["about"].endswith("-madrs-item10")
    [message] = [m for m in clinic.messages(induction.patient_id, "suicidality-alert")
                 if m.message_id == alert["message_id"]]
    issue = message.first("DetectedIssue")
    assert issue["severity"] == "high"
    assert issue["detail"].startswith("MADRS item 10 (suicidal thoughts) scored 6 of 6")
    assert issue["evidence"][0]["code"][0]["coding"][0]["code"] == "madrs-item-10"
    in_ehr = clinic.in_ehr("DetectedIssue", "course-suicidality-alert", alert["about"])
    assert in_ehr["severity"] == "high" and in_ehr["evidence"][0]["detail"][0]["reference"].startswith("Observation/")

    # Just below the clinic's threshold (item 10 = 3): no alert.
    below = clinic.post(f"/courses/{induction.course_id}/scores", {
        "scale": "madrs", "items": [3, 3, 2, 2, 1, 2, 2, 2, 3, 3], "context": "follow-up",
        "measured_at": hours_ago(1.5).isoformat(), "recorded_by": "Dr Ada Prescriber"}, 201)
    assert below["alerts_raised"] == []


EHR_QR_SYSTEM = "https://ehr-sandbox.example.org/fhir/identifier/questionnaire-response"
PHQ9_LINK_IDS = ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"]


def _ehr_questionnaire_response(clinic: CourseClinic, patient_id: str, items: list[dict]) -> dict:
    """A portal PHQ-9 written to the EHR first and then announced on ehr.events, as the sandbox's
    ``record_and_announce`` does (written here by id: the sandbox has no identifier search on
    QuestionnaireResponse, and its identifier is a single one)."""
    value = f"qr-{uuid.uuid4()}"
    resource = {"resourceType": "QuestionnaireResponse", "id": value,
                "identifier": {"system": EHR_QR_SYSTEM, "value": value},
                "status": "completed", "questionnaire": "http://loinc.org/q/44249-1",
                "subject": {"reference": f"Patient/{patient_id}"}, "authored": hours_ago(0.5).isoformat(),
                "item": [{"linkId": "phq9-group", "item": items}]}
    stored = clinic.ehr.client.update(resource)
    return build_message("questionnaire-response-received", EHR_ENDPOINT, [stored], with_provenance=False)


def test_a_score_sent_from_the_ehr_is_recorded_on_the_course_with_its_alert(course_stack: CourseClinic,
                                                                           induction: Induction):
    clinic = course_stack
    items = [{"linkId": code, "answer": [{"valueInteger": value}]}
             for code, value in zip(PHQ9_LINK_IDS, [2, 2, 1, 1, 1, 1, 1, 0, 1])]
    message = _ehr_questionnaire_response(clinic, induction.patient_id, items)
    qr_id = message["entry"][1]["resource"]["id"]
    measurement_id = f"ehr-questionnaire-response-{qr_id}"
    publish(clinic.bootstrap, EHR_EVENTS, message, key=induction.patient_id)
    publish(clinic.bootstrap, EHR_EVENTS, message, key=induction.patient_id)  # redelivered: harmless

    def recorded(course: dict) -> bool:
        return any(p["measurement_id"] == measurement_id for s in course["summary"]["series"] for p in s["points"])

    course = clinic.wait_course(induction.patient_id, recorded, "the EHR's PHQ-9 on the course")
    [point] = [p for s in course["summary"]["series"] for p in s["points"] if p["measurement_id"] == measurement_id]
    assert point["total"] == 10
    [alert] = [a for a in course["alerts"] if a["measurement_id"] == measurement_id]
    assert alert["level"] == "moderate"

    def about_it(code: str) -> list:
        return [m for m in clinic.messages(induction.patient_id, code)
                if any(measurement_id in json.dumps(r) for r in m.resources)]

    [alert_message] = wait_for(lambda: about_it("suicidality-alert"), what="the EHR score's alert message")
    [score_message] = about_it("score-recorded")
    observation = score_message.first("Observation")
    assert observation["method"]["coding"][0]["code"].endswith("ehr-message")
    assert score_message.first("QuestionnaireResponse") is None  # the EHR has its own
    assert alert_message.first("DetectedIssue")["severity"] == "moderate"

    # An unreadable one is dead-lettered with the element named.
    bad = [dict(item) for item in items]
    bad[3] = {"linkId": PHQ9_LINK_IDS[3], "answer": [{"valueString": "often"}]}
    unreadable = _ehr_questionnaire_response(clinic, induction.patient_id, bad)
    publish(clinic.bootstrap, EHR_EVENTS, unreadable, key=induction.patient_id)
    unreadable_id = unreadable["entry"][1]["resource"]["id"]
    dead = wait_for(lambda: [r for r in read_all(clinic.bootstrap, dead_letter_topic(EHR_EVENTS))
                             if unreadable_id.encode() in r.value], what="the unreadable response dead-lettered")
    assert b"QuestionnaireResponse.item[44254-1]" in dict(dead[0].headers)["dlq-reason"]
    assert len([p for s in clinic.course(induction.patient_id)["summary"]["series"] for p in s["points"]
                if p["measurement_id"] == measurement_id]) == 1


def test_a_psychotherapy_referral_is_closed_over_http(course_stack: CourseClinic, induction: Induction):
    clinic = course_stack
    referred = clinic.post(f"/courses/{induction.course_id}/referrals", {
        "kind": "psychotherapy", "referred_by": "Dr Ada Prescriber", "reason": "CBT alongside the infusions",
        "performer": "Riverside Psychotherapy", "sessions_requested": 8}, 201)
    [referral] = [r for r in referred["referrals"] if r["reason"] == "CBT alongside the infusions"]
    assert referral["status"] == "active"
    path = f"/courses/{induction.course_id}/referrals/{referral['referral_id']}/close"

    closed = clinic.post(path, {"status": "completed", "closed_by": "Dr Ada Prescriber"})
    assert [r["status"] for r in closed["referrals"] if r["referral_id"] == referral["referral_id"]] == ["completed"]
    assert [e["event_code"] for e in closed["events"]] == ["course-changed"]
    # The outbox relay sends the message after the answer: wait for it on the topic rather than read it once.
    [message] = wait_for(lambda: [m for m in clinic.messages(induction.patient_id, "course-changed")
                                  if m.message_id == closed["events"][0]["message_id"]],
                         what="the course-changed message of the closed referral")
    assert message.first("ServiceRequest")["status"] == "completed"
    clinic.in_ehr("ServiceRequest", "course-referral", referral["referral_id"],
                  until=lambda r: r["status"] == "completed")

    again = requests.post(clinic.orders_url + path, json={"status": "revoked", "closed_by": "Dr Ada Prescriber"},
                          timeout=10)
    assert again.status_code == 409 and again.json()["issue"][0]["expression"] == ["referral_id"]
    booking = requests.post(f"{clinic.orders_url}/courses/{induction.course_id}/therapy-sessions", json={
        "referral_id": referral["referral_id"], "scheduled_start": hours_ago(-48).isoformat(),
        "booked_by": "Dr Ada Prescriber"}, timeout=10)
    assert booking.status_code == 409
    unknown = requests.post(f"{clinic.orders_url}/courses/{induction.course_id}/referrals/no-such/close",
                            json={"status": "revoked", "closed_by": "Dr Ada Prescriber"}, timeout=10)
    assert unknown.status_code == 400 and unknown.json()["issue"][0]["expression"] == ["referral_id"]


def test_the_outcomes_export_carries_no_identifiers(course_stack: CourseClinic, induction: Induction):
    clinic = course_stack
    csv_answer = requests.get(f"{clinic.orders_url}/outcomes/export.csv", timeout=30)
    assert csv_answer.status_code == 200 and csv_answer.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_answer.text)))
    assert rows and all(row["row_key"].startswith("C") for row in rows)
    row = next(r for r in rows if r["baseline_score"] == "18")  # KL-1003's intake baseline
    born = date.fromisoformat(clinic.ehr.client.read("Patient", induction.patient_id)["birthDate"])
    today = clinic_today()
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    assert row["age_band"] == f"{age - age % 10}-{age - age % 10 + 9}" and row["primary_scale"] == "PHQ-9"
    assert row["start_year"] == str(clinic_today().year) and row["course_status"] == "induction"

    bundle_answer = requests.get(f"{clinic.orders_url}/outcomes/export", timeout=30)
    assert bundle_answer.status_code == 200
    bundle = bundle_answer.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    assert bundle["entry"][0]["resource"]["resourceType"] == "MeasureReport"
    assert len(bundle["entry"]) == len(rows) + 1

    forbidden = _identifying_values(clinic)
    for name, text in (("CSV", csv_answer.text), ("Bundle", json.dumps(bundle))):
        found = sorted(value for value in forbidden if value.lower() in text.lower())
        assert found == [], f"the {name} export carries {found}"


def _identifying_values(clinic: CourseClinic) -> set[str]:
    """Every seeded patient's names, birth date (also as digits only), MRN and EHR id, and every course, order,
    series and session id the orders service holds."""
    values: set[str] = set()
    for mrn in ("KL-1001", "KL-1002", "KL-1003", "KL-1004"):
        patient = clinic.ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|{mrn}"})[0]
        values |= {mrn, patient["id"], patient["birthDate"], patient["birthDate"].replace("-", "")}
        for name in patient.get("name", []):
            values |= {name["family"], *name.get("given", [])}
        course = requests.get(f"{clinic.orders_url}/patients/{patient['id']}/course", timeout=10)
        if course.status_code == 200:
            body = course.json()
            values |= {body["course_id"], *body["series_ids"]}
            values |= {a["alert_id"] for a in body["alerts"]}
            for series in requests.get(f"{clinic.orders_url}/patients/{patient['id']}/series",
                                       timeout=10).json()["series"]:
                values |= {series["order_id"], series["series_id"]}  # session ids are "{order id}-{number}"
    values.discard("")
    return values
