"""The patient banner (SMART ``need_patient_banner``): name, age, sex, latest weight, allergies and the eligibility
status, read from the EHR with the clinician's token. Shown on screen only; never logged."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from shared.fhir.client import FhirClient, FhirError, FhirUnavailable
from shared.fhir.codes import BODY_WEIGHT
from shared.smart import SmartContext
from shared.ui.clinician import ehr_as_clinician

POUNDS_PER_KG = 2.20462


@dataclass(frozen=True)
class PatientBanner:
    patient_id: str
    display_name: str
    age_years: int | None
    sex: str | None
    weight_kg: float | None
    weight_recorded_on: str | None
    allergies: tuple[str, ...] = field(default=())
    allergies_known: bool = True  # False when the EHR could not be asked: the banner says so, never "none"
    eligibility: str | None = None  # eligible / not-eligible / needs-review, from the service that knows it
    problem: str | None = None  # why the EHR gave no details: the banner says so instead of "none recorded"

    @classmethod
    def unreadable(cls, patient_id: str, why: str, eligibility: str | None = None) -> PatientBanner:
        return cls(patient_id, "", None, None, None, None, (), allergies_known=False, eligibility=eligibility,
                   problem=f"The EHR did not give this patient's details (name, weight, allergies): {why}. Check the "
                           "patient in the EHR before going on.")


def patient_banner(context: SmartContext, patient_id: str, *, eligibility: str | None = None,
                   today: date | None = None) -> PatientBanner:
    """The banner of a page, read from the EHR as the signed-in clinician. When the EHR cannot give the patient,
    the banner says so (keeping the eligibility the service knows) rather than leaving the page without one."""
    try:
        return load_patient_banner(ehr_as_clinician(context), patient_id, today=today, eligibility=eligibility)
    except FhirUnavailable:
        return PatientBanner.unreadable(patient_id, "it cannot be reached", eligibility)
    except FhirError as error:
        return PatientBanner.unreadable(patient_id, f"it answered HTTP {error.status}", eligibility)


def load_patient_banner(ehr: FhirClient, patient_id: str, *, today: date | None = None,
                        eligibility: str | None = None) -> PatientBanner:
    patient = ehr.read("Patient", patient_id)
    today = today or date.today()
    weight_kg, weight_on = _latest_weight(ehr, patient_id)
    try:
        allergies = tuple(_allergy_text(a) for a in ehr.search_first_page(
            "AllergyIntolerance", {"patient": f"Patient/{patient_id}", "_count": 20}))
        allergies_known = True
    except FhirError:
        allergies, allergies_known = (), False
    return PatientBanner(patient_id, _display_name(patient), _age(patient.get("birthDate"), today),
                         patient.get("gender"), weight_kg, weight_on, allergies, allergies_known, eligibility)


def _display_name(patient: dict) -> str:
    names = patient.get("name") or [{}]
    name = next((n for n in names if n.get("use") == "official"), names[0])
    if name.get("text"):
        return name["text"]
    return " ".join([*name.get("given", []), name.get("family", "")]).strip() or "(no name recorded)"


def _age(birth_date: str | None, today: date) -> int | None:
    if not birth_date or len(birth_date) < 10:
        return None
    born = date.fromisoformat(birth_date[:10])
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _latest_weight(ehr: FhirClient, patient_id: str) -> tuple[float | None, str | None]:
    try:
        found = ehr.search_first_page("Observation", {
            "subject": f"Patient/{patient_id}", "code": f"{BODY_WEIGHT.system}|{BODY_WEIGHT.code}",
            "_sort": "-date", "_count": 1})
    except FhirError:
        return None, None
    if not found:
        return None, None
    quantity = found[0].get("valueQuantity") or {}
    value = quantity.get("value")
    if value is None:
        return None, None
    unit = quantity.get("code") or quantity.get("unit")
    kilograms = float(value) / POUNDS_PER_KG if unit in ("[lb_av]", "lb") else float(value)
    return round(kilograms, 1), (found[0].get("effectiveDateTime") or "")[:10] or None


def _allergy_text(allergy: dict) -> str:
    code = allergy.get("code") or {}
    return code.get("text") or next((c.get("display") for c in code.get("coding", []) if c.get("display")),
                                    "unnamed allergy")
