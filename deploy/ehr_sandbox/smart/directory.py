"""The EHR-side records a launch refers to, read from and written to the sandbox's own FHIR server: the seeded
patients on the chart, the demo clinicians as Practitioner resources (``fhirUser``) with their PractitionerRole
(nurse or physician: what ``shared/roles.py`` reads to tell a prescriber) and each patient's current
clinic visit as an in-progress Encounter (the ``encounter`` of an EHR launch). Created on first use, by conditional
create on a seed identifier, so nothing is created twice."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from deploy.ehr_sandbox.seed import MRN_SYSTEM, SEED_SYSTEM, practitioner_role
from deploy.ehr_sandbox.smart.settings import DEMO_USERS, DemoUser
from shared.fhir.client import FhirClient


@dataclass(frozen=True)
class ChartPatient:
    patient_id: str
    mrn: str
    name: str
    birth_date: str
    gender: str


class Directory:
    def __init__(self, fhir: FhirClient):
        self._fhir = fhir
        self._lock = threading.Lock()
        self._practitioners: dict[str, str] = {}

    def patients(self) -> list[ChartPatient]:
        """The patients with a sandbox MRN (the seeded ones), by MRN."""
        found = []
        for resource in self._fhir.search("Patient", {"_count": "100"}):
            mrn = next((i.get("value") for i in resource.get("identifier", []) if i.get("system") == MRN_SYSTEM),
                       None)
            if mrn:
                name = (resource.get("name") or [{}])[0]
                display = " ".join([*name.get("given", []), name.get("family", "")]).strip()
                found.append(ChartPatient(resource["id"], mrn, display, resource.get("birthDate", ""),
                                          resource.get("gender", "")))
        return sorted(found, key=lambda patient: patient.mrn)

    def patient(self, patient_id: str) -> ChartPatient | None:
        return next((p for p in self.patients() if p.patient_id == patient_id), None)

    def practitioner_url(self, user: DemoUser) -> str:
        """The absolute URL of the user's Practitioner resource (SMART's ``fhirUser``)."""
        with self._lock:
            if user.username not in self._practitioners:
                resource, _ = self._fhir.create_if_none_exist({
                    "resourceType": "Practitioner",
                    "identifier": [{"system": SEED_SYSTEM, "value": user.identifier}],
                    "active": True,
                    "name": [{"use": "official", "family": user.family, "given": [user.given], "text":
                              user.display_name}],
                }, f"identifier={SEED_SYSTEM}|{user.identifier}")
                if user.role_codes:
                    role_id = f"{user.identifier}-role"
                    self._fhir.create_if_none_exist(
                        practitioner_role(role_id, resource["id"], user.role_codes, user.display_name),
                        f"identifier={SEED_SYSTEM}|{role_id}")
                self._practitioners[user.username] = f"{self._fhir.base_url}/Practitioner/{resource['id']}"
            return self._practitioners[user.username]

    def practitioner_urls(self) -> dict[str, str]:
        return {user.username: self.practitioner_url(user) for user in DEMO_USERS}

    def clinic_visit(self, patient: ChartPatient) -> str:
        """The id of the patient's in-progress clinic visit (an ambulatory Encounter), created when first needed."""
        resource, _ = self._fhir.create_if_none_exist({
            "resourceType": "Encounter",
            "identifier": [{"system": SEED_SYSTEM, "value": f"{patient.mrn}-clinic-visit"}],
            "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB",
                      "display": "ambulatory"},
            "subject": {"reference": f"Patient/{patient.patient_id}"},
            "period": {"start": datetime.now(timezone.utc).replace(microsecond=0).isoformat()},
        }, f"identifier={SEED_SYSTEM}|{patient.mrn}-clinic-visit")
        return str(resource["id"])
