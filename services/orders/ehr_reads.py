"""What the orders service reads from the EHR's FHIR API before it calculates a dose: the patient (does it exist,
which sex for the Devine formula), the most recent usable body weight and, when the weight basis needs it, the
most recent height. Each resource goes through its translator-in, so lb and inches arrive as kg and cm.

Errors: ``UnknownPatientError`` when the EHR has no such Patient; FhirUnavailable (EHR down) and the other
FhirError types pass through for the caller to answer (503 / retry); FhirMappingError when a resource cannot be
used (e.g. a weight in a unit that cannot be converted)."""
from __future__ import annotations

from dataclasses import dataclass

from shared.errors import Violation
from shared.fhir.capabilities import read, search
from shared.fhir.client import FhirClient, FhirInvalid, FhirNotFound
from shared.fhir.codes import BODY_HEIGHT, BODY_WEIGHT, Code
from shared.fhir.datatypes import FhirJson
from shared.fhir.vital_signs import USABLE_STATUSES
from services.orders.domain.measurements import BodyHeight, BodyWeight, Sex
from services.orders.domain.settings import WeightBasis
from services.orders.translators.observation_height_in import body_height_from_observation
from services.orders.translators.observation_weight_in import body_weight_from_observation
from services.orders.translators.patient_in import patient_sex


# What these reads need of the EHR, checked against its CapabilityStatement at start-up (shared/fhir/capabilities.py).
EHR_NEEDS = (
    read("Patient", "the dose calculation (does the patient exist, sex)"),
    search("Observation", ("subject", "code", "status", "date"), "the dosing weight and height"),
)


class UnknownPatientError(LookupError):
    """The EHR has no Patient with this id: nothing can be calculated or ordered for it."""

    def __init__(self, patient_id: str):
        self.patient_id = patient_id
        super().__init__(f"patient {patient_id} is not known to the EHR")

    def violation(self) -> Violation:
        return Violation("patient_id", str(self))


@dataclass(frozen=True)
class PatientFacts:
    """The inputs of a dose calculation as the EHR holds them now; weight/height None when none is recorded."""

    patient_id: str
    sex: Sex
    weight: BodyWeight | None
    height: BodyHeight | None


def read_patient_facts(ehr: FhirClient, patient_id: str, weight_basis: WeightBasis) -> PatientFacts:
    """Height is read only for the ideal and adjusted bases, so a height the EHR holds in an unusable form never
    blocks a dose on actual body weight.

    The Patient comes with the latest weight in one request (``_include=Observation:subject``, issue 19: one EHR
    round trip less per dose preview, order and CPOE order); it is read on its own when that search brought no such
    Patient: no usable weight is recorded (nothing to include it from), the EHR does not do ``_include``, or it
    refused the parameter (then the weight is searched again without it). The weight is read fresh every time."""
    weight_resource, patient = _latest_weight_and_patient(ehr, patient_id)
    if patient is None:
        try:
            patient = ehr.read("Patient", patient_id)
        except FhirNotFound:
            raise UnknownPatientError(patient_id) from None
    sex = patient_sex(patient)
    weight = body_weight_from_observation(weight_resource) if weight_resource else None
    height = None
    if weight_basis is not WeightBasis.ACTUAL:
        height_resource = latest_observation(ehr, patient_id, BODY_HEIGHT)
        height = body_height_from_observation(height_resource) if height_resource else None
    return PatientFacts(patient_id, sex, weight, height)


def latest_observation(ehr: FhirClient, patient_id: str, code: Code) -> FhirJson | None:
    """The patient's most recent Observation with ``code`` that may be used (final, amended or corrected: an
    entered-in-error weight must never be dosed from), newest first, one result."""
    params = {"subject": f"Patient/{patient_id}", "code": f"{code.system}|{code.code}",
              "status": ",".join(USABLE_STATUSES), "_sort": "-date", "_count": 1}
    matches = ehr.search_first_page("Observation", params)  # one page: never the whole weight history
    return matches[0] if matches else None


def _latest_weight_and_patient(ehr: FhirClient, patient_id: str) -> tuple[FhirJson | None, FhirJson | None]:
    """(latest usable weight, the Patient it names) in one search, as ``latest_observation`` searches the weight;
    the Patient is None unless the EHR included exactly this patient."""
    params = {"subject": f"Patient/{patient_id}", "code": f"{BODY_WEIGHT.system}|{BODY_WEIGHT.code}",
              "status": ",".join(USABLE_STATUSES), "_sort": "-date", "_count": 1, "_include": "Observation:subject"}
    try:
        matches, included = ehr.search_first_page_with_included("Observation", params)
    except FhirInvalid:  # an EHR that refuses _include here: the two requests of before
        return latest_observation(ehr, patient_id, BODY_WEIGHT), None
    patient = next((r for r in included if r.get("resourceType") == "Patient" and r.get("id") == patient_id), None)
    return (matches[0] if matches else None), patient
