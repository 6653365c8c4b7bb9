"""What the course tests do over the wire: an intake decision with its baseline PHQ-9 (as the intake sends it), an
induction order signed through the orders API, infusions charted through the documentation API with explicit
clinical times, scores posted to the course, and the course's messages read back from ``ketalink.orders.events``."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import requests

from services.intake.domain.scales import Phq9Response
from services.intake.translators.questionnaire_response_scales_out import phq9_questionnaire_response
from shared.events.topics import INTAKE_EVENTS, ORDERS_EVENTS
from shared.fhir.datatypes import identifier
from shared.fhir.messaging import Message, build_message, parse_message
from tests.integration.documentation.clinic import (
    NURSE, Clinic, discharge, pre_check, review_and_rate_recovery, vitals,
)
from tests.integration.orders.support import eligibility_message
from tests.support.kafka_tools import publish, read_all, wait_for
from tests.support.clinic_zone import clinic_today

PRESCRIBER = "Dr Ada Prescriber"
INTAKE_ENDPOINT = "urn:ketalink:intake"


def phq9_items(total: int, item9: int = 0) -> list[int]:
    """Nine PHQ-9 items adding up to ``total`` with item 9 as given."""
    rest = total - item9
    assert 0 <= rest <= 24, total
    return [min(3, max(0, rest - 3 * k)) for k in range(8)] + [item9]


@dataclass
class Induction:
    patient_id: str
    order_id: str
    series_id: str
    course_id: str


class CourseClinic:
    def __init__(self, orders_url: str, documentation: Clinic, bootstrap: str, ehr: Any):
        self.orders_url = orders_url
        self.documentation = documentation
        self.bootstrap = bootstrap
        self.ehr = ehr

    # --- intake and orders ----------------------------------------------------------------------------------
    def decide_with_baseline(self, patient_id: str, phq9_total: int, answered_at: datetime) -> str:
        """The intake's ``intake-eligibility-decided`` with the baseline PHQ-9 QuestionnaireResponse; waits until the
        orders service holds the decision. Returns the intake id."""
        plain = eligibility_message(patient_id, decided_at=answered_at + timedelta(minutes=30))
        resources = [entry["resource"] for entry in plain["entry"][1:3]]  # RiskAssessment, Consent
        intake_id = resources[0]["identifier"][0]["value"]
        baseline = phq9_questionnaire_response(Phq9Response(tuple(phq9_items(phq9_total)), answered_at), patient_id,
                                               intake_id)
        message = build_message("intake-eligibility-decided", INTAKE_ENDPOINT, [*resources, baseline])
        publish(self.bootstrap, INTAKE_EVENTS, message, key=patient_id)

        def stored() -> bool:
            answer = requests.get(f"{self.orders_url}/patients/{patient_id}/eligibility", timeout=5)
            return answer.status_code == 200 and answer.json().get("intake_id") == intake_id

        wait_for(stored, timeout_s=30, what="the intake decision to reach orders")
        return intake_id

    def sign_induction(self, patient_id: str) -> Induction:
        created = self.post("/orders", {"patient_id": patient_id, "start_date": clinic_today().isoformat(),
                                        "created_by": PRESCRIBER}, 201)
        signed = self.post(f"/orders/{created['order_id']}/sign", {"signed_by": PRESCRIBER, "attested": True})
        course = self.course(patient_id)
        return Induction(patient_id, signed["order_id"], signed["series"]["series_id"], course["course_id"])

    # --- the course API -------------------------------------------------------------------------------------
    def course(self, patient_id: str) -> dict[str, Any]:
        return self.get(f"/patients/{patient_id}/course")

    def wait_course(self, patient_id: str, predicate: Any, what: str, timeout_s: float = 45) -> dict[str, Any]:
        return wait_for(lambda: (c := self.course(patient_id)) and predicate(c) and c, timeout_s=timeout_s,
                        what=what)

    def score(self, course_id: str, total: int, measured_at: datetime, item9: int = 0,
              context: str = "pre-infusion") -> dict[str, Any]:
        return self.post(f"/courses/{course_id}/scores", {
            "scale": "phq-9", "items": phq9_items(total, item9), "context": context,
            "measured_at": measured_at.isoformat(), "recorded_by": NURSE}, 201)

    def get(self, path: str, expect: int = 200) -> Any:
        response = requests.get(self.orders_url + path, timeout=15)
        assert response.status_code == expect, f"GET {path}: {response.status_code} {response.text}"
        return response.json()

    def post(self, path: str, body: dict[str, Any], expect: int = 200) -> Any:
        response = requests.post(self.orders_url + path, json=body, timeout=30)
        assert response.status_code == expect, f"POST {path}: {response.status_code} {response.text}"
        return response.json()

    # --- documentation: one infusion charted from check-in to discharge ---------------------------------------
    def give_infusion(self, induction: Induction, number: int, check_in: datetime, rate_ml_per_h: float,
                      override_reason: str = "") -> str:
        """Session ``number`` of the order, charted with times from ``check_in`` (the infusion runs from +10 to
        +50 min, discharge at +85) as the clinic does (the scheduled CADSS, given versus ordered reviewed, the
        end-of-recovery CADSS); the orders service hears documentation's ``session-completed``. A check-in outside
        the infusion's window or too soon after the previous one needs a prescriber's ``override_reason`` (issue 13
        defect 6). Returns the session id."""
        session_id = f"{induction.order_id}-{number}"
        wait_for(lambda: any(s["session_id"] == session_id for s in self.documentation.sessions(
            induction.patient_id, induction.order_id)), timeout_s=45, what=f"session {number} scheduled")

        def t(minutes: float) -> str:
            return (check_in + timedelta(minutes=minutes)).isoformat()

        path, clinic = f"/sessions/{session_id}", self.documentation
        override = {"by": PRESCRIBER, "override_reason": override_reason} if override_reason else {}  # SMART off
        clinic.post(f"{path}/check-in", {"by": NURSE, "at": t(0), **override})
        clinic.post(f"{path}/pre-check", pre_check(t(5), 126, 80, reading_id="pre"))
        clinic.post(f"{path}/start", {"by": NURSE, "at": t(10)})
        for minute, systolic, diastolic, heart_rate in [(25, 134, 86, 80), (40, 138, 88, 82)]:
            clinic.post(f"{path}/vitals", vitals(t(minute), systolic, diastolic, heart_rate,
                                                 reading_id=f"r{minute}"), expect=201)
        clinic.post(f"{path}/cadss", {"by": NURSE, "at": t(45), "form": "cadss-6", "scheduled_minute": 40,
                                      "item_scores": [1, 0, 1, 0, 0, 0]}, expect=201)
        clinic.post(f"{path}/end", {"by": NURSE, "at": t(50)})
        clinic.call("PUT", f"{path}/administration", {
            "by": NURSE, "started_at": t(10), "stopped_at": t(50),
            "rate_changes": [{"at": t(10), "rate_ml_per_h": rate_ml_per_h}],
            "lot_number": "KET-7731", "lot_expiry": (date.today() + timedelta(days=200)).isoformat()})
        for minute, systolic, diastolic, heart_rate in [(65, 130, 84, 78), (80, 128, 82, 76)]:
            clinic.post(f"{path}/vitals", vitals(t(minute), systolic, diastolic, heart_rate,
                                                 reading_id=f"r{minute}"), expect=201)
        review_and_rate_recovery(clinic, path, review_at=t(81), cadss_at=t(82))
        assert clinic.post(f"{path}/discharge", discharge(t(85)))["status"] == "discharged"
        return session_id

    # --- the topic and the EHR ------------------------------------------------------------------------------
    def messages(self, patient_id: str, event_code: str | None = None, course_id: str | None = None
                 ) -> list[Message]:
        """The messages the orders service published about the patient (Kafka key = patient id), oldest first
        per partition (one patient: one partition); with ``course_id``, only those about that course (the broker
        is shared: other tests' orders services publish about the same seeded patients)."""
        found = []
        for record in read_all(self.bootstrap, ORDERS_EVENTS):
            if record.key != patient_id.encode():
                continue
            try:
                message = parse_message(json.loads(record.value))
            except ValueError:
                continue
            if message.response_to is None and (event_code is None or message.event_code == event_code) and (
                    course_id is None or course_id in json.dumps(message.resources)):
                found.append(message)
        return found

    def in_ehr(self, resource_type: str, kind: str, value: str, until: Any = None, timeout_s: float = 60) -> dict:
        """The EHR's resource carrying the Ketalink identifier (and passing ``until``), waiting for the message.
        Matches are checked here too: a server without an ``identifier`` search on a type (the sandbox's on Goal,
        Task, DetectedIssue) answers every resource of the type."""
        wanted = identifier(kind, value)

        def found() -> dict | None:
            matches = [r for r in self.ehr.client.search(resource_type, {"identifier": ehr_identifier(kind, value)})
                       if wanted in _identifiers(r)]
            assert len(matches) <= 1, f"{len(matches)} {resource_type} resources carry {kind}|{value}"
            return matches[0] if matches and (until is None or until(matches[0])) else None

        return wait_for(found, timeout_s=timeout_s, what=f"{resource_type} {kind}|{value} in the EHR")


def hours_ago(hours: float) -> datetime:
    return (datetime.now(timezone.utc) - timedelta(hours=hours)).replace(second=0, microsecond=0)


def ehr_identifier(kind: str, value: str) -> str:
    ident = identifier(kind, value)
    return f"{ident['system']}|{value}"


def _identifiers(resource: dict) -> list[dict]:
    found = resource.get("identifier") or []
    return [{"system": i.get("system"), "value": i.get("value")} for i in (found if isinstance(found, list)
                                                                          else [found])]
