"""The indication and the product reach the signed procedure note in the EHR (issue 13 defects 12 and 1): the orders
service's MedicationRequest (built by its own translators) carries ``reasonCode`` and the contained product, the
documentation service reads them from the order, and the note the EHR stores as a DocumentReference states them,
against the real broker, EHR sandbox and documentation service."""
from __future__ import annotations

import base64

import pytest

from tests.integration.documentation.clinic import DOCTOR, NURSE, Clinic, clinical_times

pytestmark = pytest.mark.integration


def test_the_signed_note_in_the_ehr_states_the_indication_and_the_product(clinic: Clinic):
    order = clinic.publish_signed_order("KL-1003")
    clinic.wait_for_sessions(order)
    sent = order.message["entry"][1]["resource"]
    assert sent["reasonCode"][0]["coding"][0]["code"] == "370143000"
    session_id = order.session_id(1)
    t = clinical_times(hours_ago=1)
    clinic.post(f"/sessions/{session_id}/defer", {"by": NURSE, "at": t(0), "reason": "patient unwell, rebooked"})

    draft = clinic.post(f"/sessions/{session_id}/notes", {"by": DOCTOR, "at": t(5)}, expect=201)
    assert "Indication: Treatment-resistant major depressive disorder" in draft["text"]
    clinic.post(f"/notes/{draft['note_id']}/sign", {"by": DOCTOR, "at": t(6), "attested": True})

    document = clinic.in_ehr("DocumentReference", "procedure-note", draft["note_id"],
                             until=lambda r: r.get("docStatus") == "final")
    text = base64.b64decode(document["content"][0]["attachment"]["data"]).decode()
    assert "Indication: Treatment-resistant major depressive disorder" in text
    assert "not stated in the order" not in text
    assert "Product: ketamine 10 mg/mL injection" in text
