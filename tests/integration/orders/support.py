"""Test-side builders for the orders integration tests: the intake's eligibility message and an EHR CPOE order,
shaped exactly as docs/contracts.md says, and readers for the answers on the topics."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from deploy.ehr_sandbox.ehr_events import EHR_ORDER_SYSTEM
from deploy.ehr_sandbox.seed import MRN_SYSTEM
from shared.fhir.client import FhirClient
from shared.fhir.codes import BODY_HEIGHT, KETALINK_LOCAL, OBSERVATION_CATEGORY, KETAMINE_100MG_PER_ML_INJECTION, ROUTE_INTRAVENOUS, identifier_system
from shared.fhir.datatypes import codeable_concept, coding, identifier, instant, quantity, reference, reference_by_identifier
from shared.fhir.medication import product_medication, product_reference
from shared.fhir.messaging import Message, build_message
from services.orders.translators.codes import DOSE_CALCULATED, DOSE_ORDERED, KETAMINE_ELIGIBILITY
from tests.integration.documentation.charting import new_patient
from tests.support.kafka_tools import read_messages

INTAKE_ENDPOINT = "urn:ketalink:intake"


def patient_id_for(ehr: Any, mrn: str) -> str:
    return ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|{mrn}"})[0]["id"]


def patient_of_its_own(ehr: FhirClient) -> str:
    """A patient no other test orders for, on the sandbox's chart page, weighed and measured yesterday as the seeded
    ones are: an order another test leaves active in the EHR would rightly be carded as ketamine ordered elsewhere."""
    patient_id, mrn = new_patient(ehr, family="CardFree")
    ehr.create_if_none_exist({
        "resourceType": "Observation", "identifier": [{"system": MRN_SYSTEM, "value": f"{mrn}-height"}],
        "status": "final", "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [coding(BODY_HEIGHT)]}, "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": instant(datetime.now(timezone.utc) - timedelta(days=1)),
        "valueQuantity": quantity(170.0, "cm"),
    }, f"identifier={MRN_SYSTEM}|{mrn}-height")
    return patient_id


def eligibility_message(patient_id: str, outcome: str = "eligible", consent_status: str = "active",
                        intake_id: str | None = None, decided_at: datetime | None = None) -> dict[str, Any]:
    """``intake-eligibility-decided``: RiskAssessment, then Consent. ``basis`` names the Consent by identifier only,
    as the intake does; the EHR's integration engine maps it to the Consent of the same message."""
    intake_id = intake_id or str(uuid.uuid4())
    decided_at = decided_at or datetime.now(timezone.utc)
    risk_assessment = {
        "resourceType": "RiskAssessment",
        "identifier": [identifier("eligibility", intake_id)],
        "status": "final",
        "subject": reference("Patient", patient_id),
        "code": codeable_concept(KETAMINE_ELIGIBILITY),
        "occurrenceDateTime": instant(decided_at),
        "prediction": [{"outcome": {"coding": [{"system": KETALINK_LOCAL, "code": outcome}]},
                        "rationale": "test decision"}],
        "basis": [reference_by_identifier("Consent", "consent", intake_id)],
    }
    consent = {
        "resourceType": "Consent",
        "identifier": [identifier("consent", intake_id)],
        "status": consent_status,
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "treatment"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": reference("Patient", patient_id),
        "dateTime": instant(decided_at),
        "performer": [reference("Patient", patient_id)],
        "policy": [{"uri": "https://ketalink.example.org/consent/iv-ketamine/v1"}],
    }
    return build_message("intake-eligibility-decided", INTAKE_ENDPOINT, [risk_assessment, consent])


def cpoe_medication_request(patient_id: str, mg_per_kg: float = 0.5, dose_mg: float | None = None,
                            duration_min: int = 40, infusion_count: int = 6,
                            requester: str = "Dr. CPOE Prescriber",
                            strength_mg_per_ml: float = 10.0) -> dict[str, Any]:
    """A ketamine order as the EHR's CPOE writes it (EHR identifier, no Ketalink one). The product: 100 mg/mL by its
    RxNorm code (``medicationCodeableConcept`` 238083, as an EHR codes it), any other strength as a contained
    Medication with its ingredient strength."""
    dose_and_rate: list[dict[str, Any]] = [
        {"type": codeable_concept(DOSE_ORDERED), "doseQuantity": quantity(mg_per_kg, "mg/kg")}]
    if dose_mg is not None:
        dose_and_rate.append({"type": codeable_concept(DOSE_CALCULATED), "doseQuantity": quantity(dose_mg, "mg")})
    if strength_mg_per_ml == 100.0:
        medication: dict[str, Any] = {"medicationCodeableConcept": codeable_concept(KETAMINE_100MG_PER_ML_INJECTION)}
    else:
        display = f"ketamine {strength_mg_per_ml:g} mg/mL injection"
        medication = {"contained": [product_medication(strength_mg_per_ml, display, None)],
                      "medicationReference": product_reference(display)}
    return {
        "resourceType": "MedicationRequest",
        "identifier": [{"system": EHR_ORDER_SYSTEM, "value": f"cpoe-{uuid.uuid4()}"}],
        "status": "active",
        "intent": "order",
        **medication,
        "subject": reference("Patient", patient_id),
        "authoredOn": instant(datetime.now(timezone.utc)),
        "requester": {"display": requester},
        "dosageInstruction": [{
            "text": f"ketamine {mg_per_kg} mg/kg IV over {duration_min} min",
            "route": codeable_concept(ROUTE_INTRAVENOUS),
            "timing": {"repeat": {"count": 1, "duration": duration_min, "durationUnit": "min"}},
            "doseAndRate": dose_and_rate,
        }],
        "dispenseRequest": {"numberOfRepeatsAllowed": infusion_count - 1},
    }


def message_id(message: dict[str, Any]) -> str:
    return message["entry"][0]["resource"]["id"]


def responses_to(bootstrap: str, topic: str, request_id: str) -> list[Message]:
    """Every response message on ``topic`` that answers the message ``request_id``."""
    return [message for message in read_messages(bootstrap, topic) if message.response_to == request_id]


def messages_about_order(bootstrap: str, topic: str, order_id: str) -> list[Message]:
    """The order events on ``topic`` whose MedicationRequest carries the Ketalink order id, oldest first."""
    system = identifier_system("order")
    found = []
    for message in read_messages(bootstrap, topic):
        request = message.first("MedicationRequest")
        if request and any(i.get("system") == system and i.get("value") == order_id
                           for i in request.get("identifier", [])):
            found.append(message)
    return found


def by_ketalink_identifier(ehr: Any, resource_type: str, kind: str, value: str) -> list[dict[str, Any]]:
    return ehr.client.search(resource_type, {"identifier": f"{identifier_system(kind)}|{value}"})
