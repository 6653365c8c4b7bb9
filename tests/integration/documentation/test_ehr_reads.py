"""What documentation's pages read from the EHR with only the search parameters FHIR R4 defines (the sandbox here;
HAPI FHIR with ``make test-hapi``, which refuses others with 400): the banner's eligibility is the patient's latest
decision from intake, picked out by code in Python (R4 has no RiskAssessment ``code`` search), and never another
patient's, even from a server that ignores a search parameter it does not support (the sandbox ignores them all on
RiskAssessment)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from deploy.ehr_sandbox.seed import MRN_SYSTEM
from services.documentation.ehr_reads import latest_eligibility
from shared.fhir.codes import KETALINK_LOCAL
from shared.fhir.datatypes import instant

pytestmark = pytest.mark.integration


def _new_patient(ehr) -> str:
    mrn = f"KL-E-{uuid.uuid4().hex[:8]}"
    patient, _ = ehr.client.create_if_none_exist({
        "resourceType": "Patient", "identifier": [{"system": MRN_SYSTEM, "value": mrn}], "active": True,
        "name": [{"family": "Eligibility", "given": ["Banner"]}], "gender": "male", "birthDate": "1979-09-09",
    }, f"identifier={MRN_SYSTEM}|{mrn}")
    return patient["id"]


def _assessment(ehr, patient_id: str, outcome: str, ago: timedelta, *, code: str = "ketamine-eligibility",
                status: str = "final") -> None:
    """Stored under an id of its own (update as create): R4 servers need not search RiskAssessment by identifier."""
    ehr.client.update({
        "resourceType": "RiskAssessment", "id": f"ra-{uuid.uuid4().hex}", "status": status,
        "subject": {"reference": f"Patient/{patient_id}"},
        "code": {"coding": [{"system": KETALINK_LOCAL, "code": code}]},
        "occurrenceDateTime": instant(datetime.now(timezone.utc) - ago),
        "prediction": [{"outcome": {"coding": [{"system": KETALINK_LOCAL, "code": outcome}]}}],
    })


def test_the_banner_shows_the_patients_latest_eligibility_and_never_another_patients(ehr):
    patient, other, undecided = _new_patient(ehr), _new_patient(ehr), _new_patient(ehr)
    _assessment(ehr, patient, "eligible", timedelta(days=3))
    _assessment(ehr, patient, "not-eligible", timedelta(days=1))  # the latest decision
    _assessment(ehr, patient, "eligible", timedelta(hours=2), status="entered-in-error")
    _assessment(ehr, patient, "eligible", timedelta(hours=1), code="another-assessment")
    _assessment(ehr, other, "needs-review", timedelta(minutes=1))  # newer than all of the patient's
    assert latest_eligibility(ehr.client, patient) == "not-eligible"
    assert latest_eligibility(ehr.client, other) == "needs-review"
    assert latest_eligibility(ehr.client, undecided) is None
