"""Whether pregnancy can apply to an intake's patient (issue 13, defect 18): from the EHR's administrative sex and
the age in years, never from what is typed on the day.

The rule is ``shared/pregnancy.py`` (one function for the intake's pregnancy screen item and documentation's
pre-infusion pregnancy check): a pregnancy item may be answered "not applicable" only for a patient the record shows
cannot be of child-bearing potential under the clinic's settings: administrative sex in
``pregnancy_not_applicable_sexes`` (default male), or an age outside ``childbearing_age_range_years`` (default
10-55: a placeholder the clinic must confirm; no source was read). Sex "other" or "unknown", or a patient not read
from the EHR, keeps pregnancy applicable: the safe side.
"""
from __future__ import annotations

from services.intake.domain.patient import PatientSummary
from services.intake.domain.settings import IntakeSettings
from shared import pregnancy


def childbearing_potential(patient: PatientSummary | None, settings: IntakeSettings) -> bool:
    """True unless the record shows a sex or an age for which the clinic says pregnancy cannot apply."""
    if patient is None:
        return True
    return pregnancy.childbearing_potential(patient.sex.value, patient.age_years,
                                            settings.pregnancy_not_applicable_sexes,
                                            settings.childbearing_age_range_years)


def why_applicable(patient: PatientSummary | None) -> str:
    if patient is None:
        return "the patient's sex and age are not known from the EHR"
    age = "unknown age" if patient.age_years is None else f"age {patient.age_years}"
    return f"the EHR gives sex {patient.sex.value}, {age}"
