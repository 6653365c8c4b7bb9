"""The course's DetectedIssue (a suicidality alert, open or acknowledged): shape and round trip; and every resource
the course sends carries a Ketalink identifier and validates."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.orders.course.domain.course import acknowledge_alert, record_cssrs, record_score
from services.orders.course.domain.measurements import ScoreContext, ScoreSource, cssrs_screening, scale_score
from services.orders.course.domain.psychotherapy import refer
from services.orders.course.domain.suicidality import AlertLevel, AlertSource
from services.orders.course.domain.therapy import TherapyKind
from services.orders.course.translators.care_plan_course_out import care_plan_from_course
from services.orders.course.translators.detected_issue_suicidality_in import alert_from_detected_issue
from services.orders.course.translators.detected_issue_suicidality_out import detected_issue_from_alert
from services.orders.course.translators.goal_out import goal_resource
from services.orders.course.translators.observation_score_out import observation_from_cssrs, observation_from_score
from services.orders.course.translators.questionnaire_response_out import (
    questionnaire_response_from_cssrs,
    questionnaire_response_from_score,
)
from services.orders.course.translators.service_request_referral_out import service_request_from_referral
from shared.errors import FhirMappingError
from shared.fhir.codes import IDENTIFIER_BASE
from shared.fhir.validate import validate_resource
from shared.scales import Scale

from tests.unit.orders.course.builders import CLINICIAN, COURSE, PATIENT, START, new_course, phq9, protocol, settings

AT = datetime(2026, 11, 26, 8, 30, tzinfo=timezone.utc)


class TestSuicidalityAlert:
    def alerted(self):
        answers = {"wish-to-be-dead": True, "suicidal-thoughts": True, "ideation-with-method": True,
                   "ideation-with-intent": True, "ideation-with-plan-and-intent": False,
                   "suicidal-behaviour-lifetime": False}
        screening = cssrs_screening("c-1", answers, AT, ScoreSource.PATIENT_LINK, ScoreContext.FOLLOW_UP, settings())
        return record_cssrs(new_course(), screening, settings())

    def test_an_open_alert(self):
        alert = self.alerted().alerts[0]
        resource = detected_issue_from_alert(alert, PATIENT, COURSE)
        assert (resource["status"], resource["severity"]) == ("final", "high")
        assert resource["code"]["coding"][0]["code"] == "suicidality-risk"
        assert resource["evidence"][0]["code"][0]["coding"][0]["code"] == "93374-7"
        assert resource["evidence"][0]["detail"][0]["identifier"]["value"] == "c-1"
        assert resource["implicated"][0]["identifier"]["value"] == COURSE
        assert resource["identifiedDateTime"] == "2026-11-26T08:30:00+00:00" and "mitigation" not in resource
        received = alert_from_detected_issue(resource)
        assert (received.patient_id, received.course_id, received.alert) == (PATIENT, COURSE, alert)

    def test_an_acknowledged_alert_carries_the_action(self):
        course = acknowledge_alert(self.alerted(), "c-1-cssrs", CLINICIAN, AT + timedelta(minutes=15),
                                   "called the patient; safety plan reviewed")
        resource = detected_issue_from_alert(course.alerts[0], PATIENT, COURSE)
        assert resource["mitigation"] == [{
            "action": {"coding": [{"system": "https://ketalink.example.org/fhir/CodeSystem/ketalink",
                                   "code": "prescriber-reviewed", "display": "Reviewed by the prescriber"}],
                       "text": "called the patient; safety plan reviewed"},
            "date": "2026-11-26T08:45:00+00:00", "author": CLINICIAN.fhir_reference()}]
        assert alert_from_detected_issue(resource).alert == course.alerts[0]

    def test_a_phq9_item9_alert_names_the_item_as_evidence(self):
        course = record_score(new_course(), phq9("p-1", 12, AT, item9=1), settings(), protocol())
        alert = course.alerts[0]
        resource = detected_issue_from_alert(alert, PATIENT, COURSE)
        assert resource["evidence"][0]["code"][0]["coding"][0]["code"] == "44260-8"
        received = alert_from_detected_issue(resource).alert
        assert (received.source, received.level) == (AlertSource.PHQ9_ITEM9, AlertLevel.MODERATE)

    @pytest.mark.parametrize("scale, items, code, source", [
        (Scale.MADRS, [2] * 9 + [6], "madrs-item-10", AlertSource.MADRS_ITEM10),
        (Scale.QIDS_SR16, [1] * 11 + [3] + [1] * 4, "qids-sr16-item-12", AlertSource.QIDS_SR16_ITEM12),
    ])
    def test_a_madrs_or_qids_suicide_item_alert_names_the_item_as_evidence_and_reads_back(self, scale, items, code,
                                                                                          source):
        score = scale_score("s-1", scale, items, AT, ScoreSource.CLINICIAN, ScoreContext.FOLLOW_UP)
        alert = record_score(new_course(), score, settings(), protocol()).alerts[0]
        resource = detected_issue_from_alert(alert, PATIENT, COURSE)
        assert resource["severity"] == "high"
        assert resource["evidence"][0]["code"][0]["coding"][0]["code"] == code
        received = alert_from_detected_issue(resource).alert
        assert (received.source, received.level) == (source, AlertLevel.HIGH) and received == alert

    def test_an_acknowledgement_without_its_action_is_refused(self):
        course = acknowledge_alert(self.alerted(), "c-1-cssrs", CLINICIAN, AT, "called")
        resource = detected_issue_from_alert(course.alerts[0], PATIENT, COURSE)
        del resource["mitigation"][0]["action"]["text"]
        with pytest.raises(FhirMappingError) as error:
            alert_from_detected_issue(resource)
        assert error.value.field == "DetectedIssue.mitigation[0]"


def test_every_resource_the_course_sends_validates_and_carries_a_ketalink_identifier():
    course = TestSuicidalityAlert().alerted()
    course = record_score(course, phq9("p-1", 12, START, ScoreContext.BASELINE), settings(), protocol())
    course = refer(course, "ref-1", TherapyKind.PSYCHOTHERAPY, CLINICIAN, AT, "CBT")
    score, screening = course.scores[0], course.cssrs_screens[0]
    resources = [
        questionnaire_response_from_score(score, PATIENT, COURSE),
        questionnaire_response_from_cssrs(screening, PATIENT, COURSE),
        observation_from_score(score, PATIENT, COURSE),
        observation_from_cssrs(screening, PATIENT, COURSE),
        goal_resource(course.goals[0], PATIENT),
        care_plan_from_course(course),
        service_request_from_referral(course.referrals[0], PATIENT, COURSE),
        detected_issue_from_alert(course.alerts[0], PATIENT, COURSE),
    ]
    for resource in resources:
        assert validate_resource(resource) is resource
        identifiers = resource["identifier"] if isinstance(resource["identifier"], list) else [resource["identifier"]]
        assert identifiers[0]["system"].startswith(f"{IDENTIFIER_BASE}/course"), resource["resourceType"]
