"""Who is recorded is the signed-in clinician, by reference, whatever the body names: the documentation app as
``bootstrap.build`` wires it, SMART on, the clinicians real Practitioners in the EHR sandbox (``shared/people.py``,
``shared.roles.acting_person``)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from deploy.ehr_sandbox.seed import MRN_SYSTEM
from services.documentation.bootstrap import build
from services.documentation.domain import session as s
from services.documentation.domain.order import ScheduledOccurrence
from services.documentation.repository import Records
from shared.ui.clinician import fhir_user_reference
from tests.support.practitioners import prescriber, registered_nurse
from tests.support.smart_sessions import signed_in
from tests.unit.documentation.builders import SETTINGS, controlled_substance, discharged, make_order
from tests.support.in_process import smart_service_runtime

pytestmark = pytest.mark.integration
SCOPES = "launch openid fhirUser patient/*.rs user/*.cruds"
JSON = {"Accept": "application/fhir+json"}
SOMEONE_ELSE = "Dr. Somebody Else"


@pytest.fixture
def setup(tmp_path, monkeypatch, ehr):
    runtime = smart_service_runtime("documentation", tmp_path, monkeypatch, ehr)
    app, _handlers, _responses = build(runtime)
    patient_id = ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|KL-1003"})[0]["id"]
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=1)
    occurrences = tuple(ScheduledOccurrence(n, start + timedelta(days=3 * (n - 1)),
                                            start + timedelta(days=3 * (n - 1), hours=4)) for n in range(1, 7))
    today = make_order(order_id="ord-people", patient_id=patient_id, occurrences=occurrences)
    ended = make_order(order_id="ord-people-ended", patient_id=patient_id)
    ended_session = s.record_controlled_substance(discharged(ended), controlled_substance(), SETTINGS)
    with runtime.engine.begin() as conn:
        for order in (today, ended):
            Records().add_order(conn, order)
        for session in s.sessions_for_order(today):
            Records().add_session(conn, session)
        Records().add_session(conn, ended_session)
    return app, patient_id


def _who(person: dict) -> tuple[str | None, str]:
    return person["reference"], person["display"]


def test_a_step_records_the_signed_in_clinician_whatever_the_body_names(setup, ehr):
    app, patient_id = setup
    nurse = registered_nurse(ehr.client)
    client = signed_in(app, patient_id, fhir_user=nurse.fhir_user, scope=SCOPES, cookie="cookie-people-nurse",
                       iss=ehr.base_url)
    path = "/sessions/ord-people-1"
    checked_in = client.post(f"{path}/check-in", json={"by": SOMEONE_ELSE}, headers=JSON)
    assert checked_in.status_code == 200, checked_in.get_data(as_text=True)
    expected = (fhir_user_reference(nurse.fhir_user), nurse.name)
    assert _who(checked_in.get_json()["transitions"][-1]["by"]) == expected
    event = client.post(f"{path}/events", json={"by": SOMEONE_ELSE, "text": "anxious before the infusion"},
                        headers=JSON)
    assert event.status_code == 201, event.get_data(as_text=True)
    assert _who(event.get_json()["events"][-1]["recorded_by"]) == expected

    doctor = prescriber(ehr.client)
    acting_for_another = client.post(f"{path}/defer", json={"reason": "unwell", "on_behalf_of": fhir_user_reference(
        doctor.fhir_user)}, headers=JSON)
    assert acting_for_another.status_code == 403  # a clinician's token acts for that clinician only
    assert client.get(path, headers=JSON).get_json()["status"] == "checked-in"


def test_the_note_is_drafted_and_signed_by_the_signed_in_prescriber(setup, ehr):
    app, patient_id = setup
    doctor = prescriber(ehr.client)
    client = signed_in(app, patient_id, fhir_user=doctor.fhir_user, scope=SCOPES, cookie="cookie-people-doctor",
                       iss=ehr.base_url)
    draft = client.post("/sessions/ord-people-ended-1/notes", json={"by": SOMEONE_ELSE}, headers=JSON)
    assert draft.status_code == 201, draft.get_data(as_text=True)
    expected = (fhir_user_reference(doctor.fhir_user), doctor.name)
    assert _who(draft.get_json()["drafted_by"]) == expected
    signed = client.post(f"/notes/{draft.get_json()['note_id']}/sign", json={"by": SOMEONE_ELSE, "attested": True},
                         headers=JSON)
    assert signed.status_code == 200, signed.get_data(as_text=True)
    assert _who(signed.get_json()["signed_by"]) == expected
