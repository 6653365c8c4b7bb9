"""The CDS services this service offers (CDS Hooks 2.0 discovery) and their prefetch templates.

Each template uses only FHIR R4 search parameters and the spec's prefetch tokens, so any EHR can fill it; a key the
EHR leaves out is read by the service itself (``prefetch.py``) with the ``fhirServer`` and ``fhirAuthorization`` the
request carries. The same templates drive both, so what the EHR prefetches and what the service reads never differ."""
from __future__ import annotations

from typing import Any

from shared.fhir.codes import BODY_HEIGHT, BODY_WEIGHT, KIND_ORDER, Code, identifier_system
from shared.fhir.vital_signs import USABLE_STATUSES

ORDER_SELECT = "ketamine-order-select"
ORDER_SIGN = "ketamine-order-sign"
HOOK_OF_SERVICE = {ORDER_SELECT: "order-select", ORDER_SIGN: "order-sign"}
UNCONFIRMED_STATUSES = ("preliminary", "registered")


def _latest(code: Code, statuses: tuple[str, ...] = USABLE_STATUSES) -> str:
    return (f"Observation?subject=Patient/{{{{context.patientId}}}}&code={code.system}|{code.code}"
            f"&status={','.join(statuses)}&_sort=-date&_count=1")


#: key → template. ``weight``: the latest confirmed weight, the one the CPOE check doses from; ``newerWeights``: the
#: latest one not yet confirmed, so a card can say the dose does not use it. ``eligibility``/``consent``: the
#: intake's decision as the EHR holds it (RiskAssessment has no ``code`` search parameter in R4, so the newest ones
#: are asked for); the cards take the decision and a running series from the orders service's own store, as the CPOE
#: check does (``facts.py``), so these and ``conditions``/``ketamineOrders`` are not read when the EHR leaves them out.
PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "weight": _latest(BODY_WEIGHT),
    "newerWeights": _latest(BODY_WEIGHT, UNCONFIRMED_STATUSES),
    "height": _latest(BODY_HEIGHT),
    "conditions": "Condition?patient={{context.patientId}}&clinical-status=active",
    "medications": "MedicationRequest?subject=Patient/{{context.patientId}}&status=active",
    "eligibility": "RiskAssessment?subject=Patient/{{context.patientId}}&_sort=-date&_count=10",
    "consent": "Consent?patient={{context.patientId}}&status=active",
    "ketamineOrders": (f"MedicationRequest?subject=Patient/{{{{context.patientId}}}}&status=active,on-hold"
                       f"&identifier={identifier_system(KIND_ORDER)}|"),
}
#: The keys the cards use: read from the EHR when the prefetch lacks them.
READ_WHEN_MISSING = ("patient", "weight", "newerWeights", "height", "medications")

_DESCRIPTIONS = {
    ORDER_SELECT: ("Ketalink ketamine protocol (order selection)",
                   "Checks a draft IV ketamine order against the clinic's protocol as it is chosen: dose range, "
                   "weight, product, eligibility, contraindications, series window and open suicidality alerts."),
    ORDER_SIGN: ("Ketalink ketamine protocol (order signature)",
                 "Checks the draft IV ketamine orders against the clinic's protocol before the prescriber signs; "
                 "critical cards carry override reasons and a suggestion with the protocol-correct order."),
}


def discovery_document() -> dict[str, Any]:
    return {"services": [
        {"hook": HOOK_OF_SERVICE[service_id], "id": service_id, "title": title, "description": description,
         "prefetch": dict(PREFETCH), "usageRequirements": "Send the user's Practitioner reference as userId."}
        for service_id, (title, description) in _DESCRIPTIONS.items()]}
