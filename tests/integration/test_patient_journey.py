"""Issue 2's spine: one patient end to end, driven only through the services' public HTTP APIs and Kafka, against
the real broker and EHR sandbox and the three services as real processes.

Intake finds the patient eligible → orders doses 0.5 mg/kg of the EHR's latest weight over 40 min as a 6-infusion
induction series and signs it → documentation schedules the sessions from the order event and charts one session
as a clinic does now (the checks, the infusion, given versus ordered reviewed, the end-of-recovery CADSS, discharge
with a named escort, the controlled-substance record, the note signed by the prescriber) → the EHR holds the linked
resources, each once, also after the order event is delivered twice; and a record no consumer can read lands on
the dead-letter topic with the reason."""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from shared.events.topics import ORDERS_EVENTS, dead_letter_topic
from shared.fhir.datatypes import identifier
from shared.fhir.messaging import parse_message
from tests.integration.documentation.clinic import (
    NURSE, Clinic, clinical_times, controlled_substance_for, discharge, pre_check, review_and_rate_recovery, vitals,
)
from tests.integration.intake import steps as intake
from tests.support.kafka_tools import publish, read_all, wait_for
from tests.support.service_stack import services_reading_from_the_end
from tests.support.clinic_zone import clinic_today

pytestmark = pytest.mark.integration
PRESCRIBER = "Dr Ada Prescriber"


@pytest.fixture(scope="module")
def stack(broker, ehr, log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The three services as real processes on free ports, with their own stores and consumer groups. Each group
    starts at the end of the topics: the broker is shared, and a replay of other tests' events about the same
    patient (e.g. a CPOE order the orders tests had accepted) would make the journey depend on the order in which
    the topics are read."""
    with services_reading_from_the_end(("intake", "orders", "documentation"), "journey", broker.bootstrap,
                                       ehr.base_url, log_dir, tmp_path_factory.mktemp("journey")) as urls:
        yield urls


def _ok(response: requests.Response, status: int = 200) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.url}: {response.text}"
    return response.json()


def _ehr_copies(ehr, resource_type: str, kind: str, value: str) -> list[dict]:
    ident = identifier(kind, value)
    return ehr.client.search(resource_type, {"identifier": f"{ident['system']}|{value}"})


def _readable_messages(bootstrap: str, topic: str) -> list[dict]:
    """The FHIR messages on ``topic``; other tests put unreadable records there on purpose."""
    messages = []
    for record in read_all(bootstrap, topic):
        try:
            payload = json.loads(record.value)
            parse_message(payload)
        except ValueError:
            continue
        messages.append(payload)
    return messages


def test_one_patient_from_intake_to_a_documented_infusion(stack, broker, ehr):
    patient_id = intake.patient_id(ehr, "KL-1002")  # James Okafor, 92.0 kg in the EHR

    # Intake: screening, scales and consent → eligible, and the decision goes out as a FHIR message.
    intake_id = _ok(intake.start(stack["intake"], patient_id), 201)["intake_id"]
    intake.record_all(stack["intake"], intake_id, intake.screen())
    decision = intake.decide(stack["intake"], intake_id)
    assert decision["decision"]["outcome"] == "eligible", decision["decision"]

    # Orders hears of it and doses from the EHR's latest weight: 92.0 kg × 0.5 mg/kg = 46 mg over 40 min.
    wait_for(lambda: requests.get(f"{stack['orders']}/patients/{patient_id}/eligibility", timeout=5).status_code
             == 200, what="the orders service to hear the eligibility decision")
    preview = _ok(requests.post(f"{stack['orders']}/dose-preview", json={"patient_id": patient_id}, timeout=10))
    assert preview["calculation"]["dose_mg"] == 46
    assert preview["calculation"]["duration_min"] == 40
    created = _ok(requests.post(f"{stack['orders']}/orders", json={
        "patient_id": patient_id, "start_date": clinic_today().isoformat(), "created_by": PRESCRIBER}, timeout=10), 201)
    order_id = created["order_id"]
    signed = _ok(requests.post(f"{stack['orders']}/orders/{order_id}/sign",
                               json={"signed_by": PRESCRIBER, "attested": True}, timeout=10))
    assert signed["status"] == "active" and signed["series"]["infusion_count"] == 6
    calculation = signed["calculation"]

    # Documentation schedules the six infusions from the order event and charts the first session.
    clinic = Clinic(stack["documentation"], broker.bootstrap, ehr)
    sessions = wait_for(lambda: len(s := clinic.sessions(patient_id, order_id)) == 6 and s, timeout_s=45,
                        what="six scheduled sessions")
    session_id = sessions[0]["session_id"]
    path = f"/sessions/{session_id}"
    t = clinical_times(hours_ago=3)
    clinic.post(f"{path}/check-in", {"by": NURSE, "at": t(0)})
    clinic.post(f"{path}/pre-check", pre_check(t(5), 126, 80, reading_id="pre"))
    clinic.post(f"{path}/start", {"by": NURSE, "at": t(10)})
    for minute, systolic, diastolic, heart_rate in [(25, 134, 86, 80), (40, 142, 90, 84), (50, 138, 88, 82)]:
        clinic.post(f"{path}/vitals", vitals(t(minute), systolic, diastolic, heart_rate, reading_id=f"r{minute}"),
                    expect=201)
    clinic.post(f"{path}/cadss", {"by": NURSE, "at": t(45), "form": "cadss-6", "scheduled_minute": 40,
                                  "item_scores": [1, 1, 0, 1, 0, 0]}, expect=201)
    clinic.post(f"{path}/end", {"by": NURSE, "at": t(50)})
    clinic.call("PUT", f"{path}/administration", {
        "by": NURSE, "started_at": t(10), "stopped_at": t(50),
        "rate_changes": [{"at": t(10), "rate_ml_per_h": calculation["rate_ml_per_h"]}],
        "lot_number": "KET-7731", "lot_expiry": (date.today() + timedelta(days=200)).isoformat()})
    for minute, systolic, diastolic, heart_rate in [(65, 132, 84, 78), (80, 128, 82, 76)]:
        clinic.post(f"{path}/vitals", vitals(t(minute), systolic, diastolic, heart_rate, reading_id=f"r{minute}"),
                    expect=201)
    # Before discharge the nurse reviews given versus ordered and rates the end-of-recovery CADSS; the patient
    # leaves with a named escort, having acknowledged the instructions, and the next-day call is requested.
    review_and_rate_recovery(clinic, path, review_at=t(81), cadss_at=t(82))
    assert clinic.post(f"{path}/discharge", discharge(t(85)))["status"] == "discharged"
    # The controlled-substance record (drawn = given + wasted, witnessed) comes before the prescriber signs the note.
    clinic.call("PUT", f"{path}/controlled-substance", controlled_substance_for(clinic.get(path), t(86),
                                                                                clinic.witness()))
    note_id = clinic.post(f"{path}/notes", {"by": PRESCRIBER, "at": t(90)}, expect=201)["note_id"]
    signed_note = clinic.post(f"/notes/{note_id}/sign", {"by": PRESCRIBER, "at": t(95), "attested": True})
    assert signed_note["status"] == "signed"

    # The EHR holds the linked resources.
    medication_request = clinic.in_ehr("MedicationRequest", "order", order_id)
    assert medication_request["subject"]["reference"] == f"Patient/{patient_id}"
    administered = clinic.in_ehr("MedicationAdministration", "infusion-administration", session_id)
    assert administered["request"]["reference"] == f"MedicationRequest/{medication_request['id']}"
    assert administered["dosage"]["dose"]["value"] == pytest.approx(46, rel=0.01)
    procedure = clinic.in_ehr("Procedure", "infusion", session_id, until=lambda r: r["status"] == "completed")
    assert procedure["subject"]["reference"] == f"Patient/{patient_id}"
    clinic.in_ehr("Task", "follow-up-call", session_id)
    clinic.in_ehr("DocumentReference", "procedure-note", note_id, until=lambda r: r["docStatus"] == "final")
    for reading in ("pre", "r25", "r40", "r50", "r65", "r80"):
        blood_pressure = clinic.in_ehr("Observation", "vital-sign", f"{session_id}/{reading}/bp")
        assert blood_pressure["category"][0]["coding"][0]["code"] == "vital-signs"

    # The order event delivered twice, and a record nobody can read: nothing doubled, the bad one dead-lettered.
    order_messages = [m for m in _readable_messages(broker.bootstrap, ORDERS_EVENTS)
                      if parse_message(m).event_code == "order-signed"
                      and any(r.get("resourceType") == "MedicationRequest"
                              and identifier("order", order_id) in r.get("identifier", [])
                              for r in parse_message(m).resources)]
    assert len(order_messages) == 1
    publish(broker.bootstrap, ORDERS_EVENTS, order_messages[0], key=patient_id)
    marker = uuid.uuid4().hex
    publish(broker.bootstrap, ORDERS_EVENTS, f"garbled {marker}".encode(), key=patient_id)  # after, same partition
    dead = wait_for(lambda: [r for r in read_all(broker.bootstrap, dead_letter_topic(ORDERS_EVENTS))
                             if marker.encode() in r.value and dict(r.headers).get("dlq-consumer", b"")
                             .startswith(b"ketalink-documentation")], what="the garbled record dead-lettered")
    assert dict(dead[0].headers)["dlq-reason"].startswith(b"not JSON")
    assert len(clinic.sessions(patient_id, order_id)) == 6
    assert len(_ehr_copies(ehr, "MedicationRequest", "order", order_id)) == 1
    assert len(_ehr_copies(ehr, "MedicationAdministration", "infusion-administration", session_id)) == 1
    assert len(_ehr_copies(ehr, "Observation", "vital-sign", f"{session_id}/r40/bp")) == 1
