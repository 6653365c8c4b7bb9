"""Issue 13 defect 5 over the real broker, EHR sandbox and documentation service: the treatment course's suicidality
alert (published on ketalink.orders.events exactly as the course builds it) and the day's high-risk C-SSRS hold the
infusion until a clinician documents a review; an alert the prescriber acknowledged does not; discharge after a
day above low risk asks for the safety plan. Also defect 24's refusals over HTTP (impossible values and times)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from deploy.ehr_sandbox.integration_engine import ehr_resource_id
from services.orders.course.domain.suicidality import AlertLevel, AlertSource, SuicidalityAlert, acknowledged
from shared.people import Person
from services.orders.course.translators.codes import KIND_COURSE, KIND_SCORE
from services.orders.course.translators.detected_issue_suicidality_out import detected_issue_from_alert
from shared.events.topics import ORDERS_EVENTS
from shared.fhir.datatypes import identifier
from shared.fhir.messaging import build_message
from tests.integration.documentation.charting import new_patient
from tests.integration.documentation.clinic import (
    DOCTOR, NURSE, Clinic, clinical_times, cssrs, discharge, pre_check, vitals,
)
from tests.support.kafka_tools import wait_for

pytestmark = pytest.mark.integration
COURSE_ENDPOINT = "urn:ketalink:orders"


def _publish_alert(clinic: Clinic, patient_id: str, alert: SuicidalityAlert, event_code: str) -> None:
    course_id = f"course-{patient_id}"
    _sent_by_the_course_before(clinic, patient_id, course_id, alert.measurement_id)
    resource = detected_issue_from_alert(alert, patient_id, course_id)
    clinic.send(ORDERS_EVENTS, build_message(event_code, COURSE_ENDPOINT, [resource], author_display=DOCTOR),
                patient_id)


def _sent_by_the_course_before(clinic: Clinic, patient_id: str, course_id: str, measurement_id: str) -> None:
    """The course's CarePlan and the score the alert names, in the EHR as the integration engine stores what the
    course sends before an alert: the alert refers to both by identifier, and the shared EHR sandbox's engine would
    otherwise wait for them for ever, holding every later message of the session's other tests."""
    subject = {"reference": f"Patient/{patient_id}"}
    for resource in ({"resourceType": "CarePlan", "identifier": [identifier(KIND_COURSE, course_id)],
                      "status": "active", "intent": "plan", "subject": subject},
                     {"resourceType": "Observation", "identifier": [identifier(KIND_SCORE, measurement_id)],
                      "status": "final", "code": {"text": "PHQ-9 total"}, "subject": subject}):
        ident = resource["identifier"][0]
        clinic.ehr.client.update(resource | {"id": ehr_resource_id(ident["system"], ident["value"])})


def _alert(level: AlertLevel = AlertLevel.HIGH) -> SuicidalityAlert:
    measurement_id = f"m-{uuid.uuid4().hex[:8]}"
    return SuicidalityAlert(f"{measurement_id}-cssrs", measurement_id, AlertSource.CSSRS, level,
                            datetime.now(timezone.utc) - timedelta(days=1), "C-SSRS screener risk high: endorsed "
                            "ideation with intent")


def _expressions(outcome: dict) -> list[str]:
    return [issue.get("expression", [""])[0] for issue in outcome["issue"]]


def test_open_course_alert_and_high_cssrs_hold_the_infusion_until_a_documented_review(clinic: Clinic):
    order = clinic.publish_signed_order("KL-1002")
    clinic.wait_for_sessions(order)
    path = f"/sessions/{order.session_id(1)}"
    open_alert, closed = _alert(), _alert(AlertLevel.MODERATE)
    _publish_alert(clinic, order.patient_id, open_alert, "suicidality-alert")
    _publish_alert(clinic, order.patient_id, closed, "suicidality-alert")
    acknowledged_alert = acknowledged(closed, Person(None, DOCTOR), datetime.now(timezone.utc) - timedelta(hours=20), "called; safe")
    _publish_alert(clinic, order.patient_id, acknowledged_alert, "suicidality-alert-acknowledged")
    t = clinical_times(hours_ago=2)
    try:
        clinic.post(f"{path}/check-in", {"by": NURSE, "at": t(0)})
        wait_for(lambda: [a["alert_id"] for a in clinic.get(path)["suicide_risk"]["open_alerts"]] == [
            open_alert.alert_id], timeout_s=30, what="the course's open alert (only) in documentation")

        no_screener = pre_check(t(4), 126, 80)
        del no_screener["cssrs"]
        assert _expressions(clinic.post(f"{path}/pre-check", no_screener, expect=400)) == ["cssrs"]
        high = pre_check(t(5), 126, 80)
        high["cssrs"] = cssrs(suicidal_thoughts=True, ideation_with_method=True, ideation_with_intent=True,
                              ideation_with_plan_and_intent=False)
        view = clinic.post(f"{path}/pre-check", high)
        assert view["suicide_risk"]["cssrs_risk"] == "high"
        refused = clinic.post(f"{path}/start", {"by": NURSE, "at": t(8)}, expect=409)
        reasons = " | ".join(issue["diagnostics"] for issue in refused["issue"])
        assert "C-SSRS screener high risk today" in reasons
        assert f"open suicidality alert {open_alert.alert_id} (high)" in reasons
        assert closed.alert_id not in reasons

        reviewed = clinic.post(f"{path}/pre-check/suicide-risk-review", {
            "by": DOCTOR, "at": t(9), "decision": "proceed", "note": "Seen at the chair; plan and supports reviewed"})
        review = reviewed["suicide_risk_reviews"][-1]
        assert (review["reviewed_by"]["display"], review["decision"]) == (DOCTOR, "proceed")
        assert [a["alert_id"] for a in review["alerts"]] == [open_alert.alert_id]
        assert clinic.post(f"{path}/start", {"by": NURSE, "at": t(10)})["status"] == "infusing"

        clinic.post(f"{path}/vitals", vitals(t(25), 132, 84, 80), expect=201)
        clinic.post(f"{path}/end", {"by": NURSE, "at": t(50)})
        clinic.post(f"{path}/vitals", vitals(t(85), 128, 82, 78), expect=201)
        refusal = clinic.post(f"{path}/discharge", discharge(t(90), override_reason="ride waiting"), expect=409)
        assert any(issue["diagnostics"].startswith("safety-plan: suicide risk above low today")
                   for issue in refusal["issue"])
    finally:  # the service is shared by the package's tests: close the alert for the patient's other sessions
        _publish_alert(clinic, order.patient_id, acknowledged(open_alert, Person(None, DOCTOR), datetime.now(timezone.utc),
                                                              "reviewed at the infusion"),
                       "suicidality-alert-acknowledged")


def test_impossible_values_and_times_are_refused_naming_the_field(clinic: Clinic):
    _patient_id, mrn = new_patient(clinic.ehr.client, family="Impossible")  # its own: the infusion stays running
    order = clinic.publish_signed_order(mrn)
    clinic.wait_for_sessions(order)
    path = f"/sessions/{order.session_id(1)}"
    t = clinical_times(hours_ago=2)
    clinic.post(f"{path}/check-in", {"by": NURSE, "at": t(0)})
    clinic.post(f"{path}/pre-check", pre_check(t(5), 126, 80))
    clinic.post(f"{path}/start", {"by": NURSE, "at": t(10)})
    for year in ("0001", "1900", "1970"):
        assert _expressions(clinic.post(f"{path}/vitals", vitals(f"{year}-03-02T09:25:00+00:00", 130, 80, 80),
                                        expect=400)) == ["at"]
    assert _expressions(clinic.post(f"{path}/vitals", vitals(t(25), 130, 80, 80, spo2=5e-324), expect=400)) == [
        "spo2_percent"]
    assert _expressions(clinic.post(f"{path}/vitals", vitals(t(25), 130, 80, 80, spo2=45.0), expect=400)) == [
        "spo2_percent"]
    session = clinic.get(path)
    assert session["readings"] == [] and session["alerts"] == []  # nothing stored
