"""Issue 13 defect 6: only a prescriber may override the check-in's window and interval rules. The documentation app
as ``bootstrap.build`` wires it, SMART on, reading the clinician's PractitionerRole from the real EHR sandbox
(``shared/roles.py``); a registered nurse is refused with 403 naming the action, a physician's override is kept."""
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
from tests.unit.documentation.builders import make_order
from tests.support.in_process import smart_service_runtime

pytestmark = pytest.mark.integration
SCOPES = "launch openid fhirUser patient/*.rs user/*.cruds"
JSON = {"Accept": "application/fhir+json"}


@pytest.fixture
def setup(tmp_path, monkeypatch, ehr):
    runtime = smart_service_runtime("documentation", tmp_path, monkeypatch, ehr)
    app, _handlers, _responses = build(runtime)
    patient_id = ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|KL-1003"})[0]["id"]
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=1)
    occurrences = tuple(ScheduledOccurrence(n, start + timedelta(days=3 * (n - 1)),
                                            start + timedelta(days=3 * (n - 1), hours=4)) for n in range(1, 7))
    order = make_order(order_id="ord-roles", patient_id=patient_id, occurrences=occurrences)
    with runtime.engine.begin() as conn:
        Records().add_order(conn, order)
        for session in s.sessions_for_order(order):
            Records().add_session(conn, session)
    return app, patient_id


def test_only_a_prescriber_may_override_the_check_in_window(setup, ehr):
    app, patient_id = setup
    path = "/sessions/ord-roles-2/check-in"  # infusion 2's window opens in 3 days
    body = {"by": "Robin Nurse", "override_reason": "travelling; agreed one visit early"}
    nurse = signed_in(app, patient_id, fhir_user=registered_nurse(ehr.client).fhir_user, scope=SCOPES,
                      cookie="cookie-override-nurse", iss=ehr.base_url)
    refused = nurse.post(path, json={"by": "Robin Nurse"}, headers=JSON)
    assert refused.status_code == 409 and "before the infusion's scheduled window" in refused.get_data(as_text=True)
    not_prescriber = nurse.post(path, json=body, headers=JSON)
    assert not_prescriber.status_code == 403
    assert "Only a prescriber may override" in not_prescriber.get_json()["issue"][0]["diagnostics"]

    doctor = prescriber(ehr.client)
    client = signed_in(app, patient_id, fhir_user=doctor.fhir_user, scope=SCOPES, cookie="cookie-override-doctor",
                       iss=ehr.base_url)
    accepted = client.post(path, json=body, headers=JSON)  # "by" names the nurse: the prescriber is recorded
    assert accepted.status_code == 200, accepted.get_data(as_text=True)
    assert accepted.get_json()["check_in_override"]["overridden_by"] == {
        "reference": fhir_user_reference(doctor.fhir_user), "display": doctor.name}
