"""The CDS services this service offers (CDS Hooks 2.0 discovery) and their prefetch templates.

Each template uses only FHIR R4 search parameters and the spec's prefetch tokens, so any EHR can fill it; a key the
EHR leaves out is read by the service itself (``prefetch.py``) with the ``fhirServer`` and ``fhirAuthorization`` the
request carries. The same templates drive both, so what the EHR prefetches and what the service reads never differ."""
from __future__ import annotations

from typing import Any

from shared.fhir.codes import BODY_HEIGHT, BODY_WEIGHT, Code
from shared.fhir.vital_signs import USABLE_STATUSES
from services.orders.cds_hooks.ehr_findings import PREGNANCY_STATUS

ORDER_SELECT = "ketamine-order-select"
ORDER_SIGN = "ketamine-order-sign"
HOOK_OF_SERVICE = {ORDER_SELECT: "order-select", ORDER_SIGN: "order-sign"}
UNCONFIRMED_STATUSES = ("preliminary", "registered")


def _latest(code: Code, statuses: tuple[str, ...] = USABLE_STATUSES) -> str:
    return (f"Observation?subject=Patient/{{{{context.patientId}}}}&code={code.system}|{code.code}"
            f"&status={','.join(statuses)}&_sort=-date&_count=1")


#: key → template, only what the cards read. ``weight``: the latest confirmed weight, the one the CPOE check doses
#: from; ``newerWeights``: the latest one not yet confirmed, so a card can say the dose does not use it.
#: ``conditions``: the whole problem list (an absolute contraindication is often a history: a past intracerebral
#: haemorrhage recorded as resolved still counts; the statuses are filtered by the rule, ``ehr_findings.py``).
#: ``eligibility``: the intake's decisions as the EHR holds them (RiskAssessment, docs/contracts.md); R4 defines no
#: ``code`` search on RiskAssessment, so the rule picks the Ketalink eligibility ones. ``ketamineOrders``: active and
#: on-hold MedicationRequests, the rule keeps the ketamine ones (``code`` cannot search a contained Medication).
#: ``pregnancyStatus``: the latest pregnancy status Observation (LOINC 82810-3, US Core), matched by its value.
#: The eligibility decision the cards use first, consent and a running series come from the orders service's own
#: store, as the CPOE check takes them (``facts.py``); the EHR's decision can only make a card stricter.
PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "weight": _latest(BODY_WEIGHT),
    "newerWeights": _latest(BODY_WEIGHT, UNCONFIRMED_STATUSES),
    "height": _latest(BODY_HEIGHT),
    "medications": "MedicationRequest?subject=Patient/{{context.patientId}}&status=active",
    "conditions": "Condition?patient={{context.patientId}}",
    "pregnancyStatus": _latest(PREGNANCY_STATUS),
    "eligibility": "RiskAssessment?subject=Patient/{{context.patientId}}",
    "ketamineOrders": "MedicationRequest?subject=Patient/{{context.patientId}}&status=active,on-hold",
}
#: The keys the cards use, every one: read from the EHR when the prefetch lacks them.
READ_WHEN_MISSING = tuple(PREFETCH)

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
