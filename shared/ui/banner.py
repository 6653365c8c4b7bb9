"""The patient banner (SMART ``need_patient_banner``): name, date of birth and age, sex, MRN, latest weight,
allergies and the eligibility status, read from the EHR with the clinician's token. Shown on screen only; never
logged. Name, date of birth and MRN are on every page so the two-identifier check before an infusion (name and date
of birth, or name and MRN, against the wristband) can be done on screen (issue 13, defect 20).

Settings (environment prefix ``KETALINK_``, checked at start-up by ``install_ui``):

- ``mrn_identifier_system`` (default empty): the ``Patient.identifier.system`` of the clinic's medical record
  number. Empty: the identifier whose ``type`` is HL7 v2 table 0203 ``MR`` (Medical record number, the type FHIR
  R4 and US Core use for the MRN), whatever its system.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import Flask

from shared.clinic_time import current_clinic_zone
from shared.config import app_settings, install_app_settings
from shared.fhir.client import FhirClient, FhirError, FhirUnavailable
from shared.fhir.codes import BODY_WEIGHT
from shared.fhir.vital_signs import USABLE_STATUSES
from shared.smart import SmartContext
from shared.ui.clinician import ehr_as_clinician

POUNDS_PER_KG = 2.20462
# UCUM codes (and the plain units some EHRs send) the banner converts to kg; any other weight is not shown.
KG_PER_UNIT: dict[str, float] = {"kg": 1.0, "g": 0.001, "[lb_av]": 1 / POUNDS_PER_KG, "lb": 1 / POUNDS_PER_KG,
                                 "lbs": 1 / POUNDS_PER_KG}
IDENTIFIER_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
MRN_TYPE_CODE = "MR"
SETTINGS_KEY = "ketalink_banner"


@dataclass(frozen=True)
class BannerSettings:
    """``KETALINK_MRN_IDENTIFIER_SYSTEM``; see the module docstring."""

    mrn_identifier_system: str = ""

    def validate(self) -> None:
        if self.mrn_identifier_system and not self.mrn_identifier_system.startswith(("http://", "https://", "urn:")):
            raise ValueError("mrn_identifier_system must be an http(s) or urn URI (the Patient.identifier.system)")


def install_banner(app: Flask, settings: BannerSettings | None = None) -> BannerSettings:
    return install_app_settings(app, BannerSettings, "KETALINK_", SETTINGS_KEY, settings)


def banner_settings() -> BannerSettings:
    return app_settings(SETTINGS_KEY, BannerSettings)


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
    birth_date: str | None = None  # YYYY-MM-DD as the EHR has it (a partial date is shown as recorded)
    mrn: str | None = None  # the clinic's medical record number (BannerSettings); None: the EHR has none

    @classmethod
    def unreadable(cls, patient_id: str, why: str, eligibility: str | None = None) -> PatientBanner:
        return cls(patient_id, "", None, None, None, None, (), allergies_known=False, eligibility=eligibility,
                   problem=f"The EHR did not give this patient's details (name, date of birth, MRN, weight, "
                           f"allergies): {why}. Check the "
                           "patient in the EHR before going on.")


def patient_banner(context: SmartContext, patient_id: str, *, eligibility: str | None = None,
                   today: date | None = None) -> PatientBanner:
    """The banner of a page, read from the EHR as the signed-in clinician. When the EHR cannot give the patient,
    the banner says so (keeping the eligibility the service knows) rather than leaving the page without one."""
    try:
        return load_patient_banner(ehr_as_clinician(context), patient_id, today=today, eligibility=eligibility,
                                   mrn_system=banner_settings().mrn_identifier_system)
    except FhirUnavailable:
        return PatientBanner.unreadable(patient_id, "it cannot be reached", eligibility)
    except FhirError as error:
        return PatientBanner.unreadable(patient_id, f"it answered HTTP {error.status}", eligibility)


def load_patient_banner(ehr: FhirClient, patient_id: str, *, today: date | None = None,
                        eligibility: str | None = None, mrn_system: str = "") -> PatientBanner:
    patient = ehr.read("Patient", patient_id)
    today = today or datetime.now(current_clinic_zone()).date()  # the age on the clinic's day, not the server's
    weight_kg, weight_on = _latest_weight(ehr, patient_id)
    try:
        allergies = tuple(_allergy_text(a) for a in ehr.search_first_page(
            "AllergyIntolerance", {"patient": f"Patient/{patient_id}", "_count": 20}))
        allergies_known = True
    except FhirError:
        allergies, allergies_known = (), False
    return PatientBanner(patient_id, _display_name(patient), _age(patient.get("birthDate"), today),
                         patient.get("gender"), weight_kg, weight_on, allergies, allergies_known, eligibility,
                         birth_date=patient.get("birthDate") or None, mrn=medical_record_number(patient, mrn_system))


def medical_record_number(patient: dict[str, Any], mrn_system: str = "") -> str | None:
    """The MRN: the identifier of ``mrn_system`` when the clinic set one, else the one typed v2-0203 ``MR``. An
    identifier whose period has ended or whose use is ``old`` is not the current MRN."""
    candidates = [i for i in patient.get("identifier") or [] if isinstance(i, dict) and i.get("value")
                  and i.get("use") != "old" and not (i.get("period") or {}).get("end")]
    if mrn_system:
        found = [i for i in candidates if i.get("system") == mrn_system]
    else:
        found = [i for i in candidates if any(
            c.get("system") == IDENTIFIER_TYPE_SYSTEM and c.get("code") == MRN_TYPE_CODE
            for c in (i.get("type") or {}).get("coding") or [])]
    found.sort(key=lambda i: {"official": 0, "usual": 1}.get(i.get("use") or "", 2))
    return str(found[0]["value"]) if found else None


def _display_name(patient: dict) -> str:
    names = patient.get("name") or [{}]
    name = next((n for n in names if n.get("use") == "official"), names[0])
    if name.get("text"):
        return name["text"]
    return " ".join([*name.get("given", []), name.get("family", "")]).strip() or "(no name recorded)"


def _age(birth_date: str | None, today: date) -> int | None:
    """Whole years on ``today``; None for a partial, unreadable or future date (shown as the EHR has it, never a
    500 on every page of the patient, never a negative age)."""
    if not isinstance(birth_date, str) or len(birth_date) < 10:
        return None
    try:
        born = date.fromisoformat(birth_date[:10])
    except ValueError:
        return None
    if born > today:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _latest_weight(ehr: FhirClient, patient_id: str) -> tuple[float | None, str | None]:
    try:
        found = ehr.search_first_page("Observation", {
            "subject": f"Patient/{patient_id}", "code": f"{BODY_WEIGHT.system}|{BODY_WEIGHT.code}",
            "status": ",".join(USABLE_STATUSES), "_sort": "-date", "_count": 1})
    except FhirError:
        return None, None
    return banner_weight(found[0]) if found else (None, None)


def banner_weight(observation: dict) -> tuple[float | None, str | None]:
    """The weight in kg and its day, or nothing: an entered-in-error (or preliminary) weight is never shown, even
    from a server that ignores the ``status`` search parameter."""
    if observation.get("status") not in USABLE_STATUSES:
        return None, None
    quantity = observation.get("valueQuantity") or {}
    value = quantity.get("value")
    if value is None:
        return None, None
    unit = quantity.get("code") or quantity.get("unit")
    per_kg = KG_PER_UNIT.get(unit or "kg")  # no unit: kg, as the clinic's own readings are written
    if per_kg is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, None  # a unit or value the banner cannot read is not shown, rather than shown wrong
    return round(value * per_kg, 1), (observation.get("effectiveDateTime") or "")[:10] or None


def _allergy_text(allergy: dict) -> str:
    code = allergy.get("code") or {}
    return code.get("text") or next((c.get("display") for c in code.get("coding", []) if c.get("display")),
                                    "unnamed allergy")
