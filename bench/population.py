"""What the EHR and the services must hold before a measurement, made quickly and outside the timed part: synthetic
patients with a recent weight, the EHR resources its events announce, and those events as FHIR messages.

Resources are written in FHIR transactions of a few dozen (one HTTP call each), not one by one, so that setting up
several hundred patients takes seconds. The patients are fictional ("Bench Patient-17"); nothing is logged."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from deploy.ehr_sandbox.ehr_events import EHR_ENDPOINT, referral
from shared.fhir.client import FhirClient
from shared.fhir.codes import BODY_WEIGHT, HEART_RATE, OBSERVATION_CATEGORY
from shared.fhir.datatypes import FhirJson, coding, instant, quantity
from shared.fhir.messaging import build_message
from tests.integration.orders.support import cpoe_medication_request, eligibility_message

BENCH_SYSTEM = "https://ehr-sandbox.example.org/fhir/identifier/bench"
DEVICE_SYSTEM = "https://ehr-sandbox.example.org/fhir/identifier/device-reading"
BATCH = 40  # resources per transaction


@dataclass(frozen=True)
class BenchPatient:
    patient_id: str
    weight_observation_id: str
    weight_kg: float


def create_patients(fhir: FhirClient, count: int, weight_kg: float = 80.0) -> list[BenchPatient]:
    """``count`` new patients, each with a body weight measured yesterday (inside the 30-day dosing window)."""
    patients: list[BenchPatient] = []
    yesterday = datetime.now(timezone.utc) - timedelta(days=1)
    for first in range(0, count, BATCH // 2):
        entries = []
        for n in range(first, min(count, first + BATCH // 2)):
            patient_url = f"urn:uuid:{uuid.uuid4()}"
            value = f"bench-{uuid.uuid4().hex[:12]}"
            entries.append(_post(patient_url, {
                "resourceType": "Patient", "identifier": [{"system": BENCH_SYSTEM, "value": value}],
                "active": True, "name": [{"family": "Bench", "given": [f"Patient-{n}"]}],
                "gender": "female" if n % 2 else "male", "birthDate": "1980-01-01"}))
            entries.append(_post(f"urn:uuid:{uuid.uuid4()}", {
                "resourceType": "Observation", "identifier": [{"system": BENCH_SYSTEM, "value": f"{value}-weight"}],
                "status": "final",
                "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
                "code": {"coding": [coding(BODY_WEIGHT)]}, "subject": {"reference": patient_url},
                "effectiveDateTime": instant(yesterday), "valueQuantity": quantity(weight_kg, "kg")}))
        answer = fhir.transaction({"resourceType": "Bundle", "type": "transaction", "entry": entries})
        created = [_location_id(e) for e in answer["entry"]]
        for patient, weight in zip(created[0::2], created[1::2]):
            assert patient.startswith("Patient/") and weight.startswith("Observation/"), (patient, weight)
            patients.append(BenchPatient(patient.split("/")[1], weight.split("/")[1], weight_kg))
    return patients


def store_all(fhir: FhirClient, resources: list[FhirJson]) -> list[FhirJson]:
    """Create ``resources`` in the EHR (in transactions) and return them with their server ids, in order, as the
    EHR's interface engine would before announcing them."""
    stored: list[FhirJson] = []
    for chunk in _chunks(resources, BATCH):
        answer = fhir.transaction({"resourceType": "Bundle", "type": "transaction",
                                   "entry": [_post(f"urn:uuid:{uuid.uuid4()}", r) for r in chunk]})
        for resource, entry in zip(chunk, answer["entry"]):
            stored.append({**resource, "id": _location_id(entry).split("/")[1]})
    return stored


def announce(resource: FhirJson, event_code: str) -> FhirJson:
    """The EHR's message announcing one stored resource (as ``deploy.ehr_sandbox.ehr_events`` builds it)."""
    return build_message(event_code, EHR_ENDPOINT, [resource], with_provenance=False)


# --- the events ----------------------------------------------------------------------------------------------------
def eligibility(patient_id: str) -> FhirJson:
    """``intake-eligibility-decided`` (eligible, consent on file) as the intake publishes it."""
    return eligibility_message(patient_id)


def cpoe_orders(fhir: FhirClient, patient_ids: list[str]) -> list[FhirJson]:
    """One ``cpoe-order-placed`` per patient: a ketamine MedicationRequest stored in the EHR, then announced."""
    requests = store_all(fhir, [cpoe_medication_request(p, dose_mg=40) for p in patient_ids])
    return [announce(r, "cpoe-order-placed") for r in requests]


def referrals(fhir: FhirClient, patient_ids: Iterable[str]) -> list[FhirJson]:
    """``referral-requested``: a ServiceRequest for a ketamine evaluation, stored, then announced."""
    return [announce(r, "referral-requested") for r in store_all(fhir, [referral(p) for p in patient_ids])]


def ehr_heart_rates(fhir: FhirClient, readings: list[tuple[str, datetime]]) -> list[FhirJson]:
    """``vitals-recorded``: one bedside-monitor heart rate (patient, time) each, stored, then announced."""
    observations = [{
        "resourceType": "Observation", "identifier": [{"system": DEVICE_SYSTEM, "value": str(uuid.uuid4())}],
        "status": "final", "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [coding(HEART_RATE)]}, "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": instant(at), "valueQuantity": quantity(72 + n % 10, "/min"),
    } for n, (patient_id, at) in enumerate(readings)]
    return [announce(o, "vitals-recorded") for o in store_all(fhir, observations)]


# --- plumbing ------------------------------------------------------------------------------------------------------
def _post(full_url: str, resource: FhirJson) -> FhirJson:
    return {"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}


def _location_id(entry: FhirJson) -> str:
    """``Patient/123`` from a transaction response entry (``response.location`` may carry ``/_history/n``)."""
    location = entry.get("response", {}).get("location", "")
    if not location and "resource" in entry:
        return f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
    parts = location.split("/_history/")[0].rstrip("/").split("/")
    return "/".join(parts[-2:])


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
