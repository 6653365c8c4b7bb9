"""A short journey through every service as a clinician's machine client makes it (bearer token), touching every
seeded patient, plus the error paths that log: refused requests, a dose the protocol refuses, a record that is not
JSON and an EHR message no service can use. The services log all of it for the PHI scan; the EHR gets the writes
the audit test checks."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import requests

from deploy.ehr_sandbox.ehr_events import EHR_ENDPOINT, referral
from deploy.ehr_sandbox.seed import MRN_SYSTEM, SEED_PATIENTS
from shared.events.topics import EHR_EVENTS, ORDERS_EVENTS, dead_letter_topic
from shared.fhir.datatypes import identifier
from shared.fhir.messaging import build_message
from tests.integration.documentation.clinic import (
    DOCTOR, NURSE, clinical_times, controlled_substance_for, discharge, pre_check, seeded_witness, vitals,
)
from tests.integration.intake.steps import CLINICIAN, ELIGIBLE_PARTS, screen
from tests.support.kafka_tools import publish, read_all, wait_for
from tests.support.clinic_zone import clinic_today

PRESCRIBER = "Dr Ada Prescriber"


class Caller:
    """HTTP calls with the clinician's bearer token for each service: ``tokens`` maps a service's base URL to a
    token issued to that service's client (each service accepts its own client's tokens only). Empty when the EHR
    has no SMART server."""

    def __init__(self, tokens: dict[str, str]):
        self.http = requests.Session()
        self.http.headers["Accept"] = "application/json"
        self.tokens = tokens

    def _headers(self, url: str) -> dict[str, str]:
        token = next((token for base, token in self.tokens.items() if url.startswith(base + "/")), None)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def call(self, method: str, url: str, body: Any = None, expect: int = 200) -> Any:
        response = self.http.request(method, url, json=body, headers=self._headers(url), timeout=30)
        assert response.status_code == expect, f"{method} {url}: {response.status_code} {response.text}"
        return response.json()

    def status(self, method: str, url: str) -> int:
        return self.http.request(method, url, headers=self._headers(url), timeout=10).status_code


@dataclass
class Journey:
    started_at: datetime  # before the first write; the EHR's writes since then are the journey's
    patient_ids: dict[str, str]  # MRN → EHR Patient id
    intake_ids: dict[str, str]  # MRN → intake id
    patient_mrn: str  # the one taken from intake to a charted infusion
    order_id: str
    session_id: str
    note_id: str  # the signed procedure note


def run_journey(urls: dict[str, str], caller: Caller, ehr: Any, bootstrap: str, patient_ids: dict[str, str],
                patient_mrn: str) -> Journey:
    started_at = datetime.now(timezone.utc)
    patient_id = patient_ids[patient_mrn]
    intake_ids = {mrn: caller.call("POST", f"{urls['intake']}/intakes",
                                   {"patient_id": pid, "started_by": CLINICIAN}, expect=201)["intake_id"]
                  for mrn, pid in patient_ids.items()}  # every seeded patient's record is read from the EHR
    decided = [patient_mrn, next(p.mrn for p in SEED_PATIENTS if p.other_conditions)]  # + one not eligible
    for mrn in decided:
        _complete_and_decide(caller, urls["intake"], intake_ids[mrn])

    wait_for(lambda: caller.status("GET", f"{urls['orders']}/patients/{patient_id}/eligibility") == 200,
             what="the orders service to hear the eligibility decision")
    caller.call("POST", f"{urls['orders']}/dose-preview", {"patient_id": patient_id})
    too_old_weight = next(p.mrn for p in SEED_PATIENTS if p.weight_days_ago > 30)
    caller.call("POST", f"{urls['orders']}/dose-preview", {"patient_id": patient_ids[too_old_weight]}, expect=422)
    order_id = caller.call("POST", f"{urls['orders']}/orders", {
        "patient_id": patient_id, "start_date": clinic_today().isoformat(), "created_by": PRESCRIBER},
        expect=201)["order_id"]
    signed = caller.call("POST", f"{urls['orders']}/orders/{order_id}/sign",
                         {"signed_by": PRESCRIBER, "attested": True})

    docs = urls["documentation"]
    sessions = wait_for(lambda: [s for s in caller.call("GET", f"{docs}/patients/{patient_id}/sessions")["sessions"]
                                 if s["order_id"] == order_id], timeout_s=45, what="the scheduled sessions")
    session_id = sessions[0]["session_id"]
    note_id = _chart_a_session(caller, f"{docs}/sessions/{session_id}", docs, signed["calculation"],
                               seeded_witness(ehr.client))

    _bad_requests(caller, urls, patient_ids, session_id)
    _unreadable_records(bootstrap, patient_id)
    journey = Journey(started_at, patient_ids, intake_ids, patient_mrn, order_id, session_id, note_id)
    _wait_until_the_ehr_applied(caller, urls, ehr, journey, [intake_ids[mrn] for mrn in decided])
    return journey


def _chart_a_session(caller: Caller, session: str, docs: str, calculation: dict[str, Any],
                     witness: dict[str, str]) -> str:
    """Check-in to a signed procedure note, with an adverse event: every kind of record documentation writes for
    an uneventful infusion (with the review of given versus ordered, the end-of-recovery CADSS, the named escort and
    the follow-up call requested at discharge, the controlled-substance record and its witness). Returns the
    note's id."""
    t = clinical_times(hours_ago=3)
    caller.call("POST", f"{session}/check-in", {"by": NURSE, "at": t(0)})
    caller.call("POST", f"{session}/pre-check", pre_check(t(5), 124, 80, reading_id="pre"))
    caller.call("POST", f"{session}/start", {"by": NURSE, "at": t(10)})
    for minute in (25, 40, 50):
        caller.call("POST", f"{session}/vitals", vitals(t(minute), 132, 84, 80, reading_id=f"r{minute}"), expect=201)
    caller.call("POST", f"{session}/adverse-events", {
        "by": NURSE, "at": t(30), "event_id": "ae-1", "kind": "nausea", "severity": "mild", "outcome": "resolved",
        "description": "brief nausea", "action_taken": "observed"}, expect=201)
    caller.call("POST", f"{session}/cadss", {"by": NURSE, "at": t(45), "form": "cadss-6", "scheduled_minute": 40,
                                             "item_scores": [1, 0, 1, 0, 0, 0]}, expect=201)
    caller.call("POST", f"{session}/end", {"by": NURSE, "at": t(50)})
    caller.call("PUT", f"{session}/administration", {
        "by": NURSE, "started_at": t(10), "stopped_at": t(50),
        "rate_changes": [{"at": t(10), "rate_ml_per_h": calculation["rate_ml_per_h"]}],
        "lot_number": "KET-7731", "lot_expiry": (date.today() + timedelta(days=200)).isoformat()})
    for minute in (65, 80):
        caller.call("POST", f"{session}/vitals", vitals(t(minute), 128, 82, 76, reading_id=f"r{minute}"), expect=201)
    caller.call("POST", f"{session}/administration/review", {"by": NURSE, "at": t(81)})  # given versus ordered
    caller.call("POST", f"{session}/cadss", {"by": NURSE, "at": t(82), "form": "cadss-6", "end_of_recovery": True,
                                             "item_scores": [0, 0, 0, 0, 0, 0]}, expect=201)
    assert caller.call("POST", f"{session}/discharge", discharge(t(85)))["status"] == "discharged"
    caller.call("PUT", f"{session}/controlled-substance",  # before the note can be signed
                controlled_substance_for(caller.call("GET", session), t(86), witness))
    note_id = caller.call("POST", f"{session}/notes", {"by": DOCTOR, "at": t(90)}, expect=201)["note_id"]
    caller.call("POST", f"{docs}/notes/{note_id}/sign", {"by": DOCTOR, "at": t(95), "attested": True})
    return note_id


def _complete_and_decide(caller: Caller, intake_url: str, intake_id: str) -> None:
    caller.call("PUT", f"{intake_url}/intakes/{intake_id}/contraindications", screen())
    for part, body in ELIGIBLE_PARTS.items():
        caller.call("PUT", f"{intake_url}/intakes/{intake_id}/{part}", body)
    caller.call("POST", f"{intake_url}/intakes/{intake_id}/decision", {"decided_by": CLINICIAN, "attested": True})


def _bad_requests(caller: Caller, urls: dict[str, str], patient_ids: dict[str, str], session_id: str) -> None:
    """Requests a service refuses, carrying a seeded patient's PHI where a careless log would repeat it."""
    patient = SEED_PATIENTS[0]
    name = f"{' '.join(patient.given)} {patient.family}"
    caller.call("POST", f"{urls['intake']}/intakes", {"patient_id": patient.mrn, "started_by": name}, expect=422)
    caller.call("POST", f"{urls['intake']}/intakes", {"patient_id": patient_ids[patient.mrn], "started_by": name,
                                                      "birthDate": patient.birth_date.isoformat()}, expect=400)
    caller.call("POST", f"{urls['orders']}/orders", {"patient_id": patient_ids[patient.mrn], "created_by": name,
                                                     "start_date": patient.birth_date.strftime("%d/%m/%Y")},
                expect=400)
    caller.call("POST", f"{urls['documentation']}/sessions/{session_id}/vitals",
                {"by": name, "at": patient.birth_date.isoformat(), "systolic_mmhg": patient.mrn}, expect=400)


def _unreadable_records(bootstrap: str, patient_id: str) -> None:
    """A record that is not JSON (read by documentation and the EHR's engine) and an EHR referral naming its
    patient only by MRN and name (intake cannot use it): both dead-lettered, and logged on the way."""
    patient = SEED_PATIENTS[0]
    marker = uuid.uuid4().hex
    publish(bootstrap, ORDERS_EVENTS, f"garbled {marker} {patient.family}, {' '.join(patient.given)} {patient.mrn} "
                                      f"{patient.birth_date.isoformat()}".encode(), key=patient_id)
    service_request = referral("placeholder") | {"id": f"sr-{marker}", "subject": {
        "identifier": {"system": MRN_SYSTEM, "value": patient.mrn},
        "display": f"{patient.family}, {' '.join(patient.given)} ({patient.birth_date:%d/%m/%Y})"}}
    message = build_message("referral-requested", EHR_ENDPOINT, [service_request], with_provenance=False)
    publish(bootstrap, EHR_EVENTS, message, key=patient_id)
    for topic, consumer in ((ORDERS_EVENTS, b"ketalink-documentation"), (EHR_EVENTS, b"ketalink-intake")):
        wait_for(lambda: [r for r in read_all(bootstrap, dead_letter_topic(topic)) if marker.encode() in r.value
                          and dict(r.headers).get("dlq-consumer", b"").startswith(consumer)],
                 what=f"the unreadable record on {topic} dead-lettered")


def _wait_until_the_ehr_applied(caller: Caller, urls: dict[str, str], ehr: Any, journey: Journey,
                                decided_intakes: list[str]) -> None:
    """Every message the journey sent answered by the EHR, so the audit sees all of its writes, and the services
    done reacting to each other's events, so a record read twice in a row reads the same."""
    def answered(intake_id: str) -> bool:
        messages = caller.call("GET", f"{urls['intake']}/intakes/{intake_id}")["ehr_messages"]
        return bool(messages) and all(m["ehr_response"] == "ok" for m in messages)

    for intake_id in decided_intakes:
        wait_for(lambda: answered(intake_id), what="the EHR's answer to a decision message")
    # orders hears the session completed and marks the infusion: the last change any service makes on its own
    wait_for(lambda: caller.call("GET", f"{urls['orders']}/orders/{journey.order_id}")["series"]["completed_count"]
             == 1, what="the orders service to mark the charted infusion")
    last_of_each = [("MedicationRequest", "order", journey.order_id),
                    ("DocumentReference", "procedure-note", journey.note_id)]
    for resource_type, kind, value in last_of_each:
        ident = identifier(kind, value)
        wait_for(lambda: ehr.client.search(resource_type, {"identifier": f"{ident['system']}|{value}"}),
                 what=f"{resource_type} {kind} in the EHR")
