"""Every read of the documentation service from the EHR's FHIR API.

With the service's own access, at the pre-infusion check: the body weight (LOINC 29463-7, in kg or [lb_av]), so the
check compares the dose's weight with the patient's weight today; and the patient's administrative sex and birth
date: whether the pregnancy check may be "not applicable" (issue 13 defect 18) depends on the record on the day,
never on what is typed. Nothing else of the Patient is kept, and the birth date is never logged or stored (only the
age in years the rule used).

With the signed-in clinician's SMART access token (never the service's own access), for the pages beyond the UI
kit's banner and name: the patient's latest eligibility decision, shown in the banner, and the practitioners a
controlled-substance waste witness is chosen from."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from shared.fhir.capabilities import read, search
from shared.fhir.client import FhirClient, FhirError, FhirNotFound
from shared.fhir.codes import BODY_WEIGHT, KETALINK_LOCAL
from shared.fhir.datatypes import FhirJson, reference_id
from shared.fhir.vital_signs import TO_KG, USABLE_STATUSES

log = logging.getLogger(__name__)

ELIGIBILITY_CODE = "ketamine-eligibility"  # RiskAssessment.code (system KETALINK_LOCAL) of intake's decision
ELIGIBILITY_OUTCOMES = ("eligible", "not-eligible", "needs-review")
PRACTITIONERS_SHOWN = 50  # the witness list: the EHR's first page of practitioners

# What these reads need of the EHR, checked against its CapabilityStatement at start-up (shared/fhir/capabilities.py).
EHR_NEEDS = (
    search("Observation", ("subject", "code", "status", "date"), "the weight at the pre-infusion check"),
    read("Observation", "the weight the order's dose came from"),
    read("Patient", "the sex and birth date at the pre-infusion check"),
    search("RiskAssessment", ("subject",), "the eligibility on the banner"),
    search("Practitioner", (), "the waste witness list"),
)


# --- the service's own access: the weight and the Patient at the pre-infusion check ---------------------------------
class WeightUnavailable(Exception):
    """The EHR has no usable body weight for the patient (none recorded, or in a unit this service cannot read)."""


class EhrWeights:
    def __init__(self, client: FhirClient):
        self._client = client

    def latest_kg(self, patient_id: str) -> float:
        """The most recent body weight; FhirUnavailable when the EHR does not answer (the caller says 503)."""
        found = self._client.search_first_page("Observation", {
            "subject": f"Patient/{patient_id}", "code": f"{BODY_WEIGHT.system}|{BODY_WEIGHT.code}",
            "status": ",".join(USABLE_STATUSES), "_sort": "-date", "_count": 1})
        if not found:
            raise WeightUnavailable(f"the EHR has no body weight (LOINC {BODY_WEIGHT.code}) for patient {patient_id}")
        return weight_kg(found[0])

    def observation_kg(self, reference: str) -> float | None:
        """The weight in a literal ``Observation/{id}`` reference (the one the order's dose came from); None when
        the EHR no longer has it, so the caller falls back to the order's own dosing weight."""
        observation_id = reference_id({"reference": reference}, "Observation")
        if not observation_id:
            return None
        try:
            return weight_kg(self._client.read("Observation", observation_id))
        except FhirNotFound:
            return None


def weight_kg(observation: FhirJson) -> float:
    quantity = observation.get("valueQuantity") or {}
    unit = quantity.get("code") or quantity.get("unit")
    if quantity.get("value") is None or unit not in TO_KG:
        raise WeightUnavailable(f"body weight Observation {observation.get('id', '')} has no value in kg or [lb_av]")
    return round(TO_KG[unit](float(quantity["value"])), 2)


@dataclass(frozen=True)
class PatientRecord:
    sex: str | None  # FHIR administrative-gender, None when not recorded
    birth_date: str | None  # FHIR date (YYYY, YYYY-MM or YYYY-MM-DD), None when not recorded


class EhrPatients:
    def __init__(self, client: FhirClient):
        self._client = client

    def record(self, patient_id: str) -> PatientRecord:
        """FhirError (FhirNotFound, FhirUnavailable …) when the EHR cannot give the Patient: the caller fails safe."""
        patient = self._client.read("Patient", patient_id)
        sex, birth_date = patient.get("gender"), patient.get("birthDate")
        return PatientRecord(sex if isinstance(sex, str) else None,
                             birth_date if isinstance(birth_date, str) else None)


# --- as the signed-in clinician: what the pages show ------------------------------------------------------------------
def latest_eligibility(client: FhirClient, patient_id: str) -> str | None:
    """The outcome of the latest eligibility RiskAssessment intake sent to the EHR, or None when it has none.

    R4 defines no ``code`` search parameter on RiskAssessment (HAPI FHIR refuses it with 400, HAPI-0524), so the EHR
    is asked for the patient's RiskAssessments and intake's decisions are picked out here, by code. The subject is
    checked here too: a server may ignore a parameter it does not support (lenient handling, FHIR's default; the
    sandbox's does for RiskAssessment), and another patient's decision must never reach this patient's banner. All
    pages are read: a patient has few RiskAssessments, and the latest must not fall off the first page."""
    try:
        found = client.search("RiskAssessment", {"subject": f"Patient/{patient_id}", "_count": 50})
    except FhirError:
        return None
    decisions = sorted((r for r in found if _is_eligibility_decision(r, patient_id)),
                       key=lambda r: r.get("occurrenceDateTime") or "")
    for decision in reversed(decisions):
        for prediction in decision.get("prediction") or []:
            for coding in (prediction.get("outcome") or {}).get("coding") or []:
                if coding.get("system") == KETALINK_LOCAL and coding.get("code") in ELIGIBILITY_OUTCOMES:
                    return str(coding["code"])
    return None


def _is_eligibility_decision(resource: FhirJson, patient_id: str) -> bool:
    return (resource.get("resourceType") == "RiskAssessment"
            and reference_id(resource.get("subject"), "Patient") == patient_id
            and resource.get("status") in USABLE_STATUSES
            and any(c.get("system") == KETALINK_LOCAL and c.get("code") == ELIGIBILITY_CODE
                    for c in (resource.get("code") or {}).get("coding") or [] if isinstance(c, dict)))


def practitioner_options(ehr: FhirClient, signed_in: str) -> list[tuple[str, str]]:
    """(reference, name) of the EHR's practitioners other than the signed-in clinician; empty when the EHR cannot
    say (the identifier fields remain)."""
    try:
        found = ehr.search_first_page("Practitioner", {"_count": PRACTITIONERS_SHOWN})
    except (FhirError, OSError) as error:
        log.warning("practitioners not read from the EHR", extra={"error": type(error).__name__})
        return []
    options = []
    for resource in found:
        reference = f"Practitioner/{resource.get('id')}"
        if reference == signed_in or not resource.get("id"):
            continue
        options.append((reference, _name(resource) or reference))
    return options


def _name(resource: dict[str, Any]) -> str:
    for name in resource.get("name") or []:
        if name.get("text"):
            return str(name["text"])
        parts = [*(name.get("given") or []), name.get("family") or ""]
        if any(parts):
            return " ".join(p for p in parts if p)
    return ""
