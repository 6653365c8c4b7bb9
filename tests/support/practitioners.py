"""Clinicians in the EHR sandbox for the pages' tests: a Practitioner and its PractitionerRole, which the services
read to tell a prescriber from a nurse (``shared/roles.py``). Conditional creates on a test identifier, so every
test run finds the same ones."""
from __future__ import annotations

from dataclasses import dataclass

from deploy.ehr_sandbox.seed import practitioner_role
from shared.fhir.client import FhirClient

PRACTITIONER_SYSTEM = "https://ketalink.example.org/test/practitioner"
PHYSICIAN = (("http://snomed.info/sct", "309343006", "Physician"),)
REGISTERED_NURSE = (("http://snomed.info/sct", "224535009", "Registered nurse"),)


@dataclass(frozen=True)
class Clinician:
    fhir_user: str  # the absolute Practitioner URL a SMART launch names as fhirUser
    name: str


def clinician(client: FhirClient, key: str, name: str, roles: tuple[tuple[str, str, str], ...]) -> Clinician:
    """The Practitioner ``key`` named ``name`` with one PractitionerRole coded ``roles`` (system, code, display)."""
    given, _, family = name.partition(" ")
    practitioner, _ = client.create_if_none_exist({
        "resourceType": "Practitioner", "identifier": [{"system": PRACTITIONER_SYSTEM, "value": key}],
        "active": True, "name": [{"use": "official", "text": name, "family": family or name, "given": [given]}],
    }, f"identifier={PRACTITIONER_SYSTEM}|{key}")
    role = practitioner_role(f"test-{key}-role", practitioner["id"], roles, name)
    client.create_if_none_exist(role, f"identifier={role['identifier'][0]['system']}|test-{key}-role")
    return Clinician(f"{client.base_url}/Practitioner/{practitioner['id']}", name)


def prescriber(client: FhirClient) -> Clinician:
    return clinician(client, "md-test", "Dr. Prescriber Test", PHYSICIAN)


def registered_nurse(client: FhirClient) -> Clinician:
    return clinician(client, "rn-role-test", "Robin Nurse", REGISTERED_NURSE)
