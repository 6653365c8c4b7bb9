"""Steps the EHR-status tests share (the integration tests and the browser's): a patient of the test's own with a
signed order, the EHR closing or reopening that patient's chart (``Patient.active``: the sandbox then refuses what is
filed to it, ``deploy/ehr_sandbox/chart_rules.py``), and a session charted over the API to discharge."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from deploy.ehr_sandbox.seed import MRN_SYSTEM
from shared.fhir.client import FhirClient
from shared.fhir.codes import BODY_WEIGHT, OBSERVATION_CATEGORY
from shared.fhir.datatypes import coding, instant, quantity
from tests.integration.documentation.clinic import (
    NURSE, Clinic, PublishedOrder, administration, controlled_substance_for, discharge, finish_recovery_paperwork,
    pre_check, vitals,
)


def new_patient(ehr: FhirClient, family: str = "Status") -> tuple[str, str]:
    """A patient of this test alone (its chart is closed and reopened), weighed yesterday: (Patient id, MRN). Its
    MRN is a sandbox MRN, so the sandbox's chart page lists it with the apps' launch buttons."""
    mrn = f"KL-S-{uuid.uuid4().hex[:8]}"
    patient, _ = ehr.create_if_none_exist({
        "resourceType": "Patient", "active": True, "identifier": [{"system": MRN_SYSTEM, "value": mrn, "type": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}}],
        "name": [{"family": family, "given": ["Ehr"]}], "gender": "female", "birthDate": "1979-04-04",
    }, f"identifier={MRN_SYSTEM}|{mrn}")
    ehr.create_if_none_exist({
        "resourceType": "Observation", "identifier": [{"system": MRN_SYSTEM, "value": f"{mrn}-weight"}],
        "status": "final", "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [coding(BODY_WEIGHT)]}, "subject": {"reference": f"Patient/{patient['id']}"},
        "effectiveDateTime": instant(datetime.now(timezone.utc) - timedelta(days=1)),
        "valueQuantity": quantity(72.0, "kg"),
    }, f"identifier={MRN_SYSTEM}|{mrn}-weight")
    return patient["id"], mrn


def close_chart(ehr: FhirClient, patient_id: str, active: bool = False) -> None:
    """The EHR closes (or reopens) the patient's record: ``Patient.active``."""
    patient = ehr.read("Patient", patient_id)
    ehr.update({**patient, "active": active})


def document_to_discharge(clinic: Clinic, order: PublishedOrder, path: str, t: Any) -> None:
    """Infusion ``path`` charted from check-in to discharge, the controlled-substance record included, so the
    note drafted next can be signed."""
    clinic.post(f"{path}/check-in", {"by": NURSE, "at": t(0)})
    clinic.post(f"{path}/pre-check", pre_check(t(5), 128, 82, reading_id="pre-1"))
    clinic.post(f"{path}/start", {"by": NURSE, "at": t(10)})
    clinic.post(f"{path}/vitals", vitals(t(25), 132, 84, 80, reading_id="r-25"), expect=201)
    clinic.post(f"{path}/vitals", vitals(t(40), 134, 86, 82, reading_id="r-40"), expect=201)
    clinic.post(f"{path}/cadss", {"by": NURSE, "at": t(45), "form": "cadss-6", "scheduled_minute": 40,
                                  "item_scores": [1, 0, 1, 0, 0, 0]}, expect=201)
    clinic.post(f"{path}/end", {"by": NURSE, "at": t(50)})
    clinic.call("PUT", f"{path}/administration", administration(order, t(10), t(50)))
    for minute in (55, 65, 80):
        clinic.post(f"{path}/vitals", vitals(t(minute), 130, 82, 78, reading_id=f"r-{minute}"), expect=201)
    finish_recovery_paperwork(clinic, path, t(82), t(82))
    clinic.call("PUT", f"{path}/controlled-substance", controlled_substance_for(clinic.get(path), t(60),
                                                                               clinic.witness()))
    assert clinic.post(f"{path}/discharge", discharge(t(85)))["status"] == "discharged"
