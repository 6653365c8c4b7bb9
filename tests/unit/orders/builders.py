"""Builders for the orders unit tests: one clinical scenario (an 80 kg patient, eligible, consent given, weighed two
days ago, starting induction on Monday 23 Nov 2026) that each test changes only where it matters."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from shared.fhir.codes import BODY_HEIGHT, BODY_WEIGHT, KETALINK_LOCAL, ROUTE_INTRAVENOUS
from shared.fhir.datatypes import codeable_concept, identifier, quantity, reference
from shared.fhir.medication import product_medication, product_reference
from shared.people import Person
from services.orders.domain.dose import calculate_dose
from services.orders.domain.eligibility import EligibilityDecision, EligibilityStatus
from services.orders.domain.lifecycle import create_order, sign_order
from services.orders.domain.measurements import BodyHeight, BodyWeight
from services.orders.domain.order import OrderWithSeries
from services.orders.domain.prescribed import PrescribedInfusion
from services.orders.domain.series import plan_induction
from services.orders.domain.settings import ProtocolSettings
from services.orders.translators.codes import DOSE_CALCULATED, DOSE_ORDERED, KETAMINE_ELIGIBILITY

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)  # a Friday
PRESCRIBER = Person("Practitioner/dr-ada-prescriber", "Dr Ada Prescriber")
NURSE_CY = Person("Practitioner/nurse-cy", "Nurse Cy")
CPOE_PRESCRIBER = Person("Practitioner/pr-7", "Dr Bo CPOE")  # the requester of the CPOE MedicationRequest
START = date(2026, 11, 23)  # the Monday after
PATIENT = "patient-1"
INTAKE = "intake-1"


def settings(**overrides: Any) -> ProtocolSettings:
    built = replace(ProtocolSettings(), **overrides)
    built.validate()
    return built


def weight(kg: float = 80.0, days_ago: float = 2, observation_id: str | None = "weight-1") -> BodyWeight:
    return BodyWeight(kg, NOW - timedelta(days=days_ago), observation_id)


def height(cm: float = 177.8) -> BodyHeight:
    return BodyHeight(cm, NOW - timedelta(days=100), "height-1")


def eligibility(**overrides: Any) -> EligibilityDecision:
    values: dict[str, Any] = {"patient_id": PATIENT, "intake_id": INTAKE, "status": EligibilityStatus.ELIGIBLE,
                              "consent_on_file": True, "decided_at": NOW - timedelta(days=5)}
    values.update(overrides)
    return EligibilityDecision(**values)


def draft(protocol: ProtocolSettings | None = None, kg: float = 80.0) -> OrderWithSeries:
    protocol = protocol or settings()
    calculation = calculate_dose(weight(kg), None, None, protocol, now=NOW)
    series = plan_induction(PATIENT, START, protocol, series_id="series-1", now=NOW)
    return create_order(PATIENT, eligibility(), calculation, series, PRESCRIBER, protocol, now=NOW,
                        order_id="order-1")


def signed(protocol: ProtocolSettings | None = None) -> OrderWithSeries:
    protocol = protocol or settings()
    return sign_order(draft(protocol), eligibility(), PRESCRIBER, protocol, now=NOW + timedelta(minutes=5))


def prescribed(**overrides: Any) -> PrescribedInfusion:
    """A valid CPOE order as the MedicationRequest translator reads it: ketamine 10 mg/mL (the clinic's default
    stocked product, coded by ingredient strength), 0.5 mg/kg over 40 min, 6 infusions, no reason stated."""
    values: dict[str, Any] = {
        "patient_id": PATIENT, "status": "active", "intent": "order",
        "medication_system": None, "medication_code": None, "medication_strength_mg_per_ml": 10.0,
        "route_system": ROUTE_INTRAVENOUS.system, "route_code": ROUTE_INTRAVENOUS.code,
        "mg_per_kg": 0.5, "duration_min": 40.0, "dose_mg": 40.0, "rate_ml_per_h": 156.0, "infusion_count": 6,
        "weight_observation_id": "weight-1", "ehr_request_id": "ehr-mr-9", "requester": CPOE_PRESCRIBER,
        "authored_on": NOW,
    }
    values.update(overrides)
    return PrescribedInfusion(**values)


# FHIR resources as the EHR or intake sends them.

def weight_observation(value: float = 80.0, unit: str = "kg", **overrides: Any) -> dict[str, Any]:
    resource = {"resourceType": "Observation", "id": "weight-1", "status": "final",
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                          "code": "vital-signs"}]}],
                "code": codeable_concept(BODY_WEIGHT), "subject": reference("Patient", PATIENT),
                "effectiveDateTime": "2026-11-18T09:00:00+00:00", "valueQuantity": quantity(value, unit)}
    resource.update(overrides)
    return resource


def height_observation(value: float = 177.8, unit: str = "cm", **overrides: Any) -> dict[str, Any]:
    resource = weight_observation()
    resource.update({"id": "height-1", "code": codeable_concept(BODY_HEIGHT), "valueQuantity": quantity(value, unit)})
    resource.update(overrides)
    return resource


def risk_assessment(outcome: str = "eligible", **overrides: Any) -> dict[str, Any]:
    resource = {
        "resourceType": "RiskAssessment", "identifier": [identifier("eligibility", INTAKE)], "status": "final",
        "subject": reference("Patient", PATIENT), "code": codeable_concept(KETAMINE_ELIGIBILITY),
        "occurrenceDateTime": "2026-11-15T14:30:00+00:00",
        "prediction": [{"outcome": {"coding": [{"system": KETALINK_LOCAL, "code": outcome}]},
                        "rationale": "PHQ-9 22; two failed antidepressant trials"}],
        "basis": [{"reference": "urn:uuid:consent"}],
    }
    resource.update(overrides)
    return resource


def consent(status: str = "active", intake_id: str = INTAKE, patient_id: str = PATIENT) -> dict[str, Any]:
    return {
        "resourceType": "Consent", "identifier": [identifier("consent", intake_id)], "status": status,
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "treatment"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": reference("Patient", patient_id), "dateTime": "2026-11-15T14:00:00+00:00",
        "performer": [reference("Patient", patient_id)],
        "policy": [{"uri": "https://ketalink.example.org/consent/ketamine-v3"}],
    }


def cpoe_medication_request(**overrides: Any) -> dict[str, Any]:
    """A CPOE order from the EHR in the contract's shape (the FHIR example medrx0316's dosage), for the clinic's
    default stocked product (ketamine 10 mg/mL as a contained Medication with its ingredient strength)."""
    resource = {
        "resourceType": "MedicationRequest", "id": "ehr-mr-9", "status": "active", "intent": "order",
        "contained": [product_medication(10.0, "ketamine 10 mg/mL injection", None)],
        "medicationReference": product_reference("ketamine 10 mg/mL injection"),
        "subject": reference("Patient", PATIENT), "authoredOn": "2026-11-20T09:00:00+00:00",
        "requester": {"reference": "Practitioner/pr-7", "display": "Dr Bo CPOE"},
        "supportingInformation": [reference("Observation", "weight-1")],
        "dosageInstruction": [{
            "route": codeable_concept(ROUTE_INTRAVENOUS),
            "timing": {"repeat": {"count": 1, "duration": 40, "durationUnit": "min"}},
            "doseAndRate": [
                {"type": codeable_concept(DOSE_ORDERED), "doseQuantity": quantity(0.5, "mg/kg"),
                 "rateRatio": {"numerator": quantity(0.5, "mg/kg"), "denominator": quantity(40, "min")}},
                {"type": codeable_concept(DOSE_CALCULATED), "doseQuantity": quantity(40, "mg"),
                 "rateQuantity": quantity(156, "mL/h")},
            ],
        }],
        "dispenseRequest": {"numberOfRepeatsAllowed": 5},
    }
    resource.update(overrides)
    return resource
