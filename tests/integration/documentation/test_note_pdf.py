"""The signed note's PDF end to end: against the real broker, EHR sandbox (or stock HAPI) and documentation
process, the DocumentReference the EHR stores carries the PDF beside the text (application/pdf, its SHA-1 ``hash``
and ``size`` matching its bytes), and the PDF read back with pypdf names the patient as the EHR has them, the dose,
the signer and the signed time. In-process (Flask's test client, SMART required, the real sandbox): the page serves
the stored PDF to the note's patient's launch only, never for a draft, as the bytes the EHR received."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from deploy.ehr_sandbox.seed import MRN_SYSTEM
from services.documentation.bootstrap import build
from services.documentation.domain import session as s
from services.documentation.domain.order import ScheduledOccurrence
from services.documentation.repository import Records
from shared.db import outbox
from tests.integration.documentation.clinic import DOCTOR, NURSE, Clinic, clinical_times
from tests.support.in_process import smart_service_runtime
from tests.support.practitioners import prescriber
from tests.support.smart_sessions import signed_in
from tests.unit.documentation.builders import make_order

pytestmark = pytest.mark.integration
SCOPES = "launch openid fhirUser patient/*.rs user/*.cruds"
JSON = {"Accept": "application/fhir+json"}


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def test_the_signed_notes_document_reference_in_the_ehr_carries_its_pdf(clinic: Clinic):
    order = clinic.publish_signed_order("KL-1003")
    clinic.wait_for_sessions(order)
    session_id = order.session_id(1)
    t = clinical_times(hours_ago=1)
    clinic.post(f"/sessions/{session_id}/defer", {"by": NURSE, "at": t(0), "reason": "BP high on recheck"})
    draft = clinic.post(f"/sessions/{session_id}/notes", {"by": DOCTOR, "at": t(5)}, expect=201)
    clinic.post(f"/notes/{draft['note_id']}/sign", {"by": DOCTOR, "at": t(6), "attested": True})

    document = clinic.in_ehr("DocumentReference", "procedure-note", draft["note_id"],
                             until=lambda r: r.get("docStatus") == "final")
    text_content, pdf_content = document["content"]  # the text kept, the PDF beside it
    assert base64.b64decode(text_content["attachment"]["data"]).decode() == draft["text"]
    attachment = pdf_content["attachment"]
    assert attachment["contentType"] == "application/pdf"
    pdf = base64.b64decode(attachment["data"])
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(pdf).digest()).decode()
    assert attachment["size"] == len(pdf) and 5_000 < len(pdf) < 200_000
    text = _text(pdf)
    assert "Sarah Lindqvist" in text and "KL-1003" in text and "1985-07-21" in text
    dose = re.search(r"Ordered dose: [^\n]+? mg IV", draft["text"]).group(0)
    assert dose in text
    assert f"Signed by: {DOCTOR}" in text and "Signed at: " in text
    assert "true record of the session" in text  # the attestation


@pytest.fixture
def app(tmp_path, monkeypatch, ehr):
    """The service with SMART required, one order of six sessions for KL-1003 and one for KL-1004."""
    runtime = smart_service_runtime("documentation", tmp_path, monkeypatch, ehr)
    flask_app, _handlers, _responses = build(runtime)
    start = (datetime.now(timezone.utc) - timedelta(hours=3)).replace(second=0, microsecond=0)
    occurrences = tuple(ScheduledOccurrence(n, start + timedelta(days=3 * (n - 1)),
                                            start + timedelta(days=3 * (n - 1), hours=4)) for n in range(1, 7))
    patients = {mrn: ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|{mrn}"})[0]["id"]
                for mrn in ("KL-1003", "KL-1004")}
    first_sessions = {}
    with runtime.engine.begin() as conn:
        for mrn, order_id in (("KL-1003", "pdf-1"), ("KL-1004", "pdf-2")):
            order = make_order(order_id=order_id, patient_id=patients[mrn], occurrences=occurrences)
            Records().add_order(conn, order)
            sessions = s.sessions_for_order(order)
            for session in sessions:
                Records().add_session(conn, session)
            first_sessions[mrn] = sessions[0].session_id
    flask_app.config.update(patients=patients, engine=runtime.engine, first_session=first_sessions["KL-1003"],
                            start=start)
    return flask_app


def test_the_page_serves_the_stored_pdf_to_the_notes_patient_only(app, ehr):
    patients, session_id, start = app.config["patients"], app.config["first_session"], app.config["start"]
    doctor = prescriber(ehr.client)
    client = signed_in(app, patients["KL-1003"], fhir_user=doctor.fhir_user, scope=SCOPES, cookie="doctor")
    at = (start + timedelta(minutes=5)).isoformat()
    assert client.post(f"/sessions/{session_id}/defer", json={"at": at, "reason": "unwell"},
                       headers=JSON).status_code == 200
    draft = client.post(f"/sessions/{session_id}/notes", json={"at": at}, headers=JSON).get_json()
    pdf_path = f"/ui/notes/{draft['note_id']}/note.pdf"
    assert client.get(pdf_path).status_code == 409  # a draft has no PDF
    signed = client.post(f"/notes/{draft['note_id']}/sign", json={"at": at, "attested": True}, headers=JSON)
    assert signed.status_code == 200, signed.get_data(as_text=True)

    served = client.get(pdf_path)
    assert served.status_code == 200 and served.mimetype == "application/pdf"
    assert served.headers["Cache-Control"] == "no-store"
    assert served.headers["Content-Disposition"].startswith("attachment; filename=") and ".pdf" in \
        served.headers["Content-Disposition"]
    text = _text(served.data)
    assert f"Signed by: {doctor.name}" in text and "Sarah Lindqvist" in text and "KL-1003" in text
    note_page = client.get(f"/ui/sessions/{session_id}/note", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f'href="{pdf_path}"' in note_page

    # The bytes served are the bytes sent: the outbox's note-signed message carries the same PDF.
    with app.config["engine"].connect() as conn:
        payloads = [json.loads(row.payload) for row in conn.execute(
            select(outbox.c.payload).where(outbox.c.event_code == "note-signed"))]
    sent = [entry["resource"] for message in payloads for entry in message["entry"]
            if entry["resource"]["resourceType"] == "DocumentReference"]
    assert [base64.b64decode(d["content"][1]["attachment"]["data"]) for d in sent] == [served.data]

    other = signed_in(app, patients["KL-1004"], fhir_user=doctor.fhir_user, scope=SCOPES, cookie="other")
    assert other.get(pdf_path).status_code == 403  # another patient's launch
    no_scope = signed_in(app, patients["KL-1003"], fhir_user=doctor.fhir_user, scope="launch openid fhirUser "
                         "patient/Patient.rs", cookie="narrow")
    assert no_scope.get(pdf_path).status_code == 403  # DocumentReference.r is needed, as for the note page
