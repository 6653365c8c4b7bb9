"""EHR-side events the sandbox publishes on ``ehr.events``, as a hospital EHR's interface engine would: a referral
for ketamine evaluation, a ketamine order placed in CPOE, a new body weight. Each resource is first written to the
FHIR store (so the services can read it back), then announced as a FHIR message."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from shared.fhir.client import FhirClient
from shared.fhir.codes import BODY_WEIGHT, KETALINK_LOCAL, OBSERVATION_CATEGORY
from shared.fhir.datatypes import FhirJson, coding, instant, quantity
from shared.fhir.messaging import build_message

EHR_ORDER_SYSTEM = "https://ehr-sandbox.example.org/fhir/identifier/order"
EHR_OBSERVATION_SYSTEM = "https://ehr-sandbox.example.org/fhir/identifier/observation"
EHR_ENDPOINT = "urn:ehr-sandbox:interface-engine"


def referral(patient_id: str, requester: str = "Dr. Referring Psychiatrist") -> FhirJson:
    return {
        "resourceType": "ServiceRequest",
        "identifier": [{"system": EHR_ORDER_SYSTEM, "value": f"ref-{uuid.uuid4()}"}],
        "status": "active", "intent": "order",
        "code": {"coding": [{"system": KETALINK_LOCAL, "code": "ketamine-evaluation",
                             "display": "Evaluation for IV ketamine treatment"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": instant(datetime.now(timezone.utc)),
        "requester": {"display": requester},
        "reasonCode": [{"text": "Treatment-resistant depression"}],
    }


def weight(patient_id: str, weight_kg: float) -> FhirJson:
    return {
        "resourceType": "Observation",
        "identifier": [{"system": EHR_OBSERVATION_SYSTEM, "value": f"wt-{uuid.uuid4()}"}],
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [coding(BODY_WEIGHT)]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": instant(datetime.now(timezone.utc)),
        "valueQuantity": quantity(weight_kg, "kg"),
    }


def record_and_announce(fhir: FhirClient, resource: FhirJson, event_code: str) -> tuple[FhirJson, FhirJson]:
    """Write ``resource`` to the store (idempotent on its identifier) and build the message announcing it.
    ``identifier`` is a list on most resources and a single Identifier on some (QuestionnaireResponse)."""
    identifiers = resource["identifier"]
    ident = identifiers if isinstance(identifiers, dict) else identifiers[0]
    stored, _ = fhir.create_if_none_exist(resource, f"identifier={ident['system']}|{ident['value']}")
    return stored, build_message(event_code, EHR_ENDPOINT, [stored], with_provenance=False)
