"""Whether pregnancy can apply to a patient (issue 13, defect 18): from the EHR's administrative sex and the age in
years, never from what is typed on the day.

A pregnancy item may be answered "not applicable" only for a patient the record shows cannot be of child-bearing
potential under the clinic's settings: administrative sex in ``pregnancy_not_applicable_sexes`` (default male), or
an age outside ``childbearing_age_range_years`` (default 10-55: a placeholder the clinic must confirm; no source
was read). Sex "other" or "unknown", or a patient not read from the EHR, keeps pregnancy applicable: the safe side.

The same rule serves the pre-infusion pregnancy check in documentation (which owns that screen): "not applicable"
only when this rule says so for the patient's record on the day.
"""
from __future__ import annotations

from services.intake.domain.patient import PatientSummary
from services.intake.domain.settings import IntakeSettings


def childbearing_potential(patient: PatientSummary | None, settings: IntakeSettings) -> bool:
    """True unless the record shows a sex or an age for which the clinic says pregnancy cannot apply."""
    if patient is None:
        return True
    if patient.sex.value in settings.pregnancy_not_applicable_sexes:
        return False
    if patient.age_years is None:
        return True
    low, high = settings.childbearing_age_range_years
    return low <= patient.age_years <= high


def why_applicable(patient: PatientSummary | None) -> str:
    if patient is None:
        return "the patient's sex and age are not known from the EHR"
    age = "unknown age" if patient.age_years is None else f"age {patient.age_years}"
    return f"the EHR gives sex {patient.sex.value}, {age}"
