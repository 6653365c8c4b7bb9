"""Seed the sandbox EHR with a few realistic (fictional) patients: demographics, identifiers, recent weight and
height, a major depressive disorder Condition and prior antidepressant MedicationStatements.

Idempotent: every resource is a conditional create on a seed identifier, so re-seeding creates nothing twice.
Weights carry the ISO week in their identifier, so a sandbox kept for weeks still has a weight inside the orders
service's 30-day window, as a clinic's EHR would.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from shared.fhir.client import FhirClient
from shared.fhir.codes import BODY_HEIGHT, BODY_WEIGHT, MAJOR_DEPRESSIVE_DISORDER, OBSERVATION_CATEGORY, RXNORM, SNOMED
from shared.fhir.datatypes import FhirJson, coding, instant, quantity

MRN_SYSTEM = "https://ehr-sandbox.example.org/fhir/identifier/mrn"
SEED_SYSTEM = "https://ehr-sandbox.example.org/fhir/identifier/seed"


@dataclass(frozen=True)
class PriorAntidepressant:
    rxnorm: str
    name: str
    daily_dose_mg: float
    weeks: int
    ended_weeks_ago: int


@dataclass(frozen=True)
class SeedPatient:
    mrn: str
    family: str
    given: tuple[str, ...]
    gender: str
    birth_date: date
    weight: float
    weight_unit: str  # UCUM: kg or [lb_av]
    weight_days_ago: int
    height_cm: float
    antidepressants: tuple[PriorAntidepressant, ...]
    other_conditions: tuple[tuple[str, str], ...] = field(default=())  # (SNOMED code, display)


SEED_PATIENTS: tuple[SeedPatient, ...] = (
    SeedPatient("KL-1001", "Gonzalez", ("Maria", "Elena"), "female", date(1978, 3, 14), 68.4, "kg", 2, 165.0,
                (PriorAntidepressant("36437", "sertraline", 150, 10, 40),
                 PriorAntidepressant("39786", "venlafaxine", 225, 12, 12))),
    SeedPatient("KL-1002", "Okafor", ("James",), "male", date(1969, 11, 2), 92.0, "kg", 5, 180.0,
                (PriorAntidepressant("321988", "escitalopram", 20, 8, 60),
                 PriorAntidepressant("42347", "bupropion", 300, 10, 30),
                 PriorAntidepressant("89013", "aripiprazole", 5, 8, 6))),
    # History of intracerebral haemorrhage: an absolute contraindication by the clinic's default settings.
    SeedPatient("KL-1003", "Lindqvist", ("Sarah",), "female", date(1985, 7, 21), 59.1, "kg", 3, 170.0,
                (PriorAntidepressant("36437", "sertraline", 200, 12, 50),
                 PriorAntidepressant("72625", "duloxetine", 60, 10, 10)),
                (("274100004", "Cerebral hemorrhage"),)),
    # Weight recorded in pounds and 60 days ago: outside the default 30-day dosing window.
    SeedPatient("KL-1004", "Chen", ("David",), "male", date(1990, 1, 9), 176.0, "[lb_av]", 60, 175.0,
                (PriorAntidepressant("4493", "fluoxetine", 40, 8, 20),
                 PriorAntidepressant("32937", "paroxetine", 40, 8, 8))),
)


def seed(client: FhirClient, today: date | None = None) -> dict[str, str]:
    """Create what is missing; return MRN → EHR Patient id. The demo clinicians are seeded too, so an outside EHR
    simulator's provider picker finds them on a fresh start (before anyone signs in at the chart)."""
    today = today or datetime.now(timezone.utc).date()
    seed_clinicians(client)
    patient_ids: dict[str, str] = {}
    for patient in SEED_PATIENTS:
        resource, _ = client.create_if_none_exist(_patient(patient), f"identifier={MRN_SYSTEM}|{patient.mrn}")
        patient_id = resource["id"]
        patient_ids[patient.mrn] = patient_id
        for extra in _clinical_resources(patient, patient_id, today):
            seed_id = extra["identifier"][0]["value"]
            client.create_if_none_exist(extra, f"identifier={SEED_SYSTEM}|{seed_id}")
    return patient_ids


def seed_clinicians(client: FhirClient) -> dict[str, str]:
    """The demo clinicians (``nurse.ng``, ``dr.okoye``) and IT support (``ops.kim``: ``smart/settings.py``) as Practitioners with their
    PractitionerRole, under the seed identifiers the chart's sign-in uses (``smart/directory.py``), so both find the
    same resources. Returns username → Practitioner id."""
    from deploy.ehr_sandbox.smart.settings import DEMO_USERS  # here: the smart package imports this module

    found = {}
    for user in DEMO_USERS:
        resource, _ = client.create_if_none_exist({
            "resourceType": "Practitioner", "identifier": _seed_identifier(user.identifier), "active": True,
            "name": [{"use": "official", "family": user.family, "given": [user.given], "text": user.display_name}],
        }, f"identifier={SEED_SYSTEM}|{user.identifier}")
        if user.role_codes:
            role_id = f"{user.identifier}-role"
            client.create_if_none_exist(practitioner_role(role_id, resource["id"], user.role_codes,
                                                          user.display_name), f"identifier={SEED_SYSTEM}|{role_id}")
        found[user.username] = str(resource["id"])
    return found


def practitioner_role(seed_id: str, practitioner_id: str, role_codes: tuple[tuple[str, str, str], ...],
                      display: str) -> FhirJson:
    """The PractitionerRole of a sandbox clinician (``seed_id`` its seed identifier): what the services read to
    know whether the signed-in clinician is a prescriber (``shared/roles.py``)."""
    return {
        "resourceType": "PractitionerRole",
        "identifier": _seed_identifier(seed_id),
        "active": True,
        "practitioner": {"reference": f"Practitioner/{practitioner_id}", "display": display},
        "code": [{"coding": [{"system": system, "code": code, "display": text}], "text": text}
                 for system, code, text in role_codes],
    }


def _patient(p: SeedPatient) -> FhirJson:
    return {
        "resourceType": "Patient",
        "identifier": [{"use": "usual", "type": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
            "system": MRN_SYSTEM, "value": p.mrn}],
        "active": True,
        "name": [{"use": "official", "family": p.family, "given": list(p.given)}],
        "gender": p.gender,
        "birthDate": p.birth_date.isoformat(),
    }


def _seed_identifier(value: str) -> list[FhirJson]:
    return [{"system": SEED_SYSTEM, "value": value}]


def _clinical_resources(p: SeedPatient, patient_id: str, today: date) -> list[FhirJson]:
    subject = {"reference": f"Patient/{patient_id}"}
    weight_day = today - timedelta(days=p.weight_days_ago)
    iso_year, iso_week, _ = today.isocalendar()
    vital_category = [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}]
    resources: list[FhirJson] = [
        {"resourceType": "Observation", "identifier": _seed_identifier(f"{p.mrn}-weight-{iso_year}W{iso_week:02d}"),
         "status": "final", "category": vital_category, "code": {"coding": [coding(BODY_WEIGHT)]},
         "subject": subject, "effectiveDateTime": instant(datetime.combine(weight_day, datetime.min.time())
                                                          .replace(hour=9, tzinfo=timezone.utc)),
         "valueQuantity": quantity(p.weight, p.weight_unit, "kg" if p.weight_unit == "kg" else "lb")},
        {"resourceType": "Observation", "identifier": _seed_identifier(f"{p.mrn}-height"),
         "status": "final", "category": vital_category, "code": {"coding": [coding(BODY_HEIGHT)]},
         "subject": subject, "effectiveDateTime": f"{today.year - 1}-06-01",
         "valueQuantity": quantity(p.height_cm, "cm")},
        {"resourceType": "Condition", "identifier": _seed_identifier(f"{p.mrn}-mdd"),
         "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                        "code": "active"}]},
         "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                            "code": "confirmed"}]},
         "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                   "code": "problem-list-item"}]}],
         "code": {"coding": [coding(MAJOR_DEPRESSIVE_DISORDER)]}, "subject": subject,
         "onsetDateTime": f"{today.year - 2}-01-15"},
    ]
    for code, display in p.other_conditions:
        resources.append({
            "resourceType": "Condition", "identifier": _seed_identifier(f"{p.mrn}-condition-{code}"),
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": "resolved"}]},
            "code": {"coding": [{"system": SNOMED, "code": code, "display": display}]}, "subject": subject,
            "onsetDateTime": f"{today.year - 4}-05-02"})
    for drug in p.antidepressants:
        end = today - timedelta(weeks=drug.ended_weeks_ago)
        start = end - timedelta(weeks=drug.weeks)
        resources.append({
            "resourceType": "MedicationStatement",
            "identifier": _seed_identifier(f"{p.mrn}-med-{drug.name}"),
            "status": "completed" if drug.ended_weeks_ago else "active",
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": drug.rxnorm, "display": drug.name}],
                                          "text": drug.name},
            "subject": subject,
            "effectivePeriod": {"start": start.isoformat(), "end": end.isoformat()},
            "dosage": [{"text": f"{drug.name} {drug.daily_dose_mg:g} mg daily",
                        "doseAndRate": [{"doseQuantity": quantity(drug.daily_dose_mg, "mg")}]}],
        })
    return resources
