"""A whole infusion session, from the orders service's ``order-signed`` message to a signed procedure note, against
the real broker, EHR sandbox and documentation service: what the clinician charts over HTTP reaches the EHR as FHIR
resources (Encounter, Procedure, MedicationAdministration → the order's MedicationRequest, vital-sign Observations,
DocumentReference and its signature Provenance), and a redelivered order event schedules nothing twice."""
from __future__ import annotations

import base64
import uuid

import pytest

from deploy.ehr_sandbox.ehr_events import record_and_announce
from services.documentation.translators.provenance_signature_out import signature_provenance_id
from shared.events.topics import EHR_EVENTS
from shared.fhir.codes import HEART_RATE, OBSERVATION_CATEGORY
from shared.fhir.datatypes import coding, quantity
from tests.integration.documentation.clinic import (
    DOCTOR, NURSE, Clinic, administration, clinical_times, controlled_substance, discharge,
    finish_recovery_paperwork, pre_check, vitals,
)
from tests.support.kafka_tools import wait_for

pytestmark = pytest.mark.integration
DEVICE_SYSTEM = "https://ehr-sandbox.example.org/fhir/identifier/device-reading"


def _device_heart_rate(patient_id: str, at: str, value: int) -> dict:
    return {"resourceType": "Observation",
            "identifier": [{"system": DEVICE_SYSTEM, "value": str(uuid.uuid4())}],
            "status": "final", "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
            "code": {"coding": [coding(HEART_RATE)]}, "subject": {"reference": f"Patient/{patient_id}"},
            "effectiveDateTime": at, "valueQuantity": quantity(value, "/min")}


def test_order_event_to_signed_note_in_the_ehr(clinic: Clinic):
    order = clinic.publish_signed_order("KL-1001")
    sessions = clinic.wait_for_sessions(order)
    assert [s["occurrence_number"] for s in sessions] == [1, 2, 3, 4, 5, 6]
    assert {s["status"] for s in sessions} == {"scheduled"}
    session_id = order.session_id(1)
    path = f"/sessions/{session_id}"
    t = clinical_times(hours_ago=3)

    clinic.post(f"{path}/check-in", {"by": NURSE, "at": t(0)})
    checked = clinic.post(f"{path}/pre-check", pre_check(t(5), 128, 82, reading_id="pre-1"))
    assert checked["pre_check"] == {"outcome": "cleared", "blocking_reasons": [], "overridden": False}
    assert checked["pre_checks"][0]["latest_weight_kg"] == pytest.approx(order.weight_kg)
    clinic.post(f"{path}/start", {"by": NURSE, "at": t(10)})
    clinic.post(f"{path}/vitals", vitals(t(25), 138, 88, 84, reading_id="r-25"), expect=201)

    # A heart rate from a bedside device, through the EHR, lands in the flowsheet of the infusing session.
    device = _device_heart_rate(order.patient_id, t(30), 86)
    stored, announcement = record_and_announce(clinic.ehr.client, device, "vitals-recorded")
    clinic.send(EHR_EVENTS, announcement, order.patient_id)
    charted = wait_for(lambda: [r for r in clinic.get(path)["readings"] if r["source"] == "ehr"],
                       timeout_s=30, what="the device reading in the flowsheet")
    assert charted[0]["heart_rate_per_min"] == 86 and charted[0]["ehr_observation_ids"] == [stored["id"]]

    clinic.post(f"{path}/vitals", vitals(t(40), 146, 92, 90, reading_id="r-40"), expect=201)
    due = clinic.get(path)["due_cadss"]
    assert [d["scheduled_minute"] for d in due] == [40]
    cadss = clinic.post(f"{path}/cadss", {"by": NURSE, "at": t(50), "form": "cadss-6", "scheduled_minute": 40,
                                          "item_scores": [1, 0, 2, 1, 0, 0]}, expect=201)
    assert cadss["recorded"]["total"] == 4 and clinic.get(path)["due_cadss"] == []
    clinic.post(f"{path}/end", {"by": NURSE, "at": t(50)})
    given = clinic.call("PUT", f"{path}/administration", administration(order, t(10), t(50)))
    assert given["administration"]["ordered_dose_mg"] == order.placed.order.calculation.dose_mg
    for minute, systolic, diastolic, heart_rate in [(55, 140, 88, 82), (65, 134, 85, 80), (80, 132, 84, 78)]:
        clinic.post(f"{path}/vitals", vitals(t(minute), systolic, diastolic, heart_rate, reading_id=f"r-{minute}"),
                    expect=201)
    finish_recovery_paperwork(clinic, path, t(82), t(82))
    done = clinic.post(f"{path}/discharge", discharge(t(85)))
    assert done["status"] == "discharged"
    assert all(c["met"] for c in done["discharge_record"]["criteria"])

    preview = clinic.get(f"{path}/note-preview")["text"]
    assert "KETAMINE INFUSION PROCEDURE NOTE" in preview and "CADSS:" in preview
    draft = clinic.post(f"{path}/notes", {"by": DOCTOR, "at": t(90)}, expect=201)
    assert draft["status"] == "draft" and draft["doc_status"] == "preliminary"
    edited_text = draft["text"] + "\nPatient tolerated the infusion well.\n"
    clinic.call("PUT", f"/notes/{draft['note_id']}", {"text": edited_text})
    refused = clinic.post(f"/notes/{draft['note_id']}/sign", {"by": DOCTOR, "at": t(95), "attested": True}, expect=409)
    assert "controlled-substance record" in refused["issue"][0]["diagnostics"]
    dose_mg = clinic.get(path)["given"]["total_mg"]
    clinic.call("PUT", f"{path}/controlled-substance", controlled_substance(t(60), dose_mg, dose_mg + 10,
                                                                           witness=clinic.witness()))
    # The draft predates the record and says NOT RECORDED: it is restated before it can be signed.
    stale = clinic.post(f"/notes/{draft['note_id']}/sign", {"by": DOCTOR, "at": t(95), "attested": True}, expect=409)
    section = stale["issue"][0]["diagnostics"].split("section with\n", 1)[1]
    assert section.startswith("Controlled substance:\n") and f"given {dose_mg:g} mg" in section
    restated = edited_text.replace("Controlled substance: NOT RECORDED", section)
    clinic.call("PUT", f"/notes/{draft['note_id']}", {"text": restated})
    signed = clinic.post(f"/notes/{draft['note_id']}/sign", {"by": DOCTOR, "at": t(95), "attested": True})
    assert signed["status"] == "signed"
    clinic.call("PUT", f"/notes/{draft['note_id']}", {"text": "changed"}, expect=409)
    # The signed note quotes the controlled-substance record: it can no longer be changed (amend the note).
    changed = clinic.call("PUT", f"{path}/controlled-substance",
                          controlled_substance(t(60), dose_mg, dose_mg, witness=clinic.witness()),
                          expect=409)
    assert "note quoting the controlled-substance record is signed" in changed["issue"][0]["diagnostics"]

    # The EHR has the visit, the infusion, what was given (→ the order's MedicationRequest), the vitals and the note.
    encounter = clinic.in_ehr("Encounter", "infusion-session", session_id, until=lambda r: r["status"] == "finished")
    assert encounter["subject"]["reference"] == f"Patient/{order.patient_id}"
    procedure = clinic.in_ehr("Procedure", "infusion", session_id, until=lambda r: r["status"] == "completed")
    assert procedure["encounter"]["reference"] == f"Encounter/{encounter['id']}"
    medication_request = clinic.in_ehr("MedicationRequest", "order", order.order_id)
    administered = clinic.in_ehr("MedicationAdministration", "infusion-administration", session_id)
    assert administered["request"]["reference"] == f"MedicationRequest/{medication_request['id']}"
    assert administered["dosage"]["dose"]["value"] == pytest.approx(order.placed.order.calculation.dose_mg, rel=0.01)
    blood_pressure = clinic.in_ehr("Observation", "vital-sign", f"{session_id}/r-40/bp")
    assert [c["valueQuantity"]["value"] for c in blood_pressure["component"]] == [146, 92]
    assert blood_pressure["encounter"]["reference"] == f"Encounter/{encounter['id']}"
    clinic.in_ehr("Observation", "vital-sign", f"{session_id}/pre-1/bp")
    clinic.in_ehr("Observation", "cadss", f"{session_id}/{cadss['recorded']['assessment_id']}")
    document = clinic.in_ehr("DocumentReference", "procedure-note", draft["note_id"])
    assert document["docStatus"] == "final"
    assert base64.b64decode(document["content"][0]["attachment"]["data"]).decode() == restated.strip()
    signature = wait_for(lambda: _read_or_none(clinic, "Provenance", signature_provenance_id(draft["note_id"])),
                         what="the signature Provenance")
    assert signature["target"][0]["reference"] == f"DocumentReference/{document['id']}"
    assert signature["signature"][0]["who"] == {"display": DOCTOR}

    # The same order event again (redelivered, and re-sent under a new message id) schedules nothing twice.
    clinic.send("ketalink.orders.events", order.message, order.patient_id)
    again = clinic.publish_order(order.placed, order.patient_id,
                                 order.message["entry"][1]["resource"]["supportingInformation"][0]["reference"]
                                 .split("/")[-1])
    assert again["entry"][0]["resource"]["id"] != order.message["entry"][0]["resource"]["id"]
    sentinel = clinic.publish_signed_order("KL-1001")  # same key: read after the repeats
    clinic.wait_for_sessions(sentinel)
    sessions = clinic.sessions(order.patient_id, order.order_id)
    assert len(sessions) == 6 and sessions[0]["status"] == "discharged"


def test_cancelled_order_cancels_its_scheduled_sessions(clinic: Clinic):
    order = clinic.publish_signed_order("KL-1002")
    clinic.wait_for_sessions(order)
    t = clinical_times(hours_ago=1)
    clinic.post(f"/sessions/{order.session_id(1)}/check-in", {"by": NURSE, "at": t(0)})
    clinic.cancel_order(order)
    statuses = wait_for(lambda: (s := [x["status"] for x in clinic.sessions(order.patient_id, order.order_id)])
                        and s[1] == "cancelled" and s, timeout_s=30, what="the sessions cancelled")
    assert statuses == ["checked-in"] + ["cancelled"] * 5  # the patient at the clinic is left to the clinician
    refused = clinic.post(f"/sessions/{order.session_id(1)}/pre-check", pre_check(t(5), 120, 80), expect=409)
    assert "cancelled" in refused["issue"][0]["diagnostics"]


def _read_or_none(clinic: Clinic, resource_type: str, resource_id: str) -> dict | None:
    from shared.fhir.client import FhirNotFound

    try:
        return clinic.ehr.client.read(resource_type, resource_id)
    except FhirNotFound:
        return None
