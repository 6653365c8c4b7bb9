"""Issue 13 defect 18: the one pregnancy-applicability rule intake and documentation share (shared/pregnancy.py)."""
from datetime import date

import pytest

from shared.pregnancy import (
    DEFAULT_CHILDBEARING_AGE_RANGE_YEARS as AGES,
    DEFAULT_NOT_APPLICABLE_SEXES as SEXES,
    childbearing_potential,
    childbearing_potential_from_birth_date,
    possible_ages,
    validate_pregnancy_settings,
)

DAY = date(2026, 12, 7)


@pytest.mark.parametrize("sex, age, applicable", [
    ("male", 40, False), ("female", 30, True), ("female", 60, False), ("female", 9, False), ("female", 10, True),
    ("female", 55, True), ("other", 40, True), ("unknown", 40, True), (None, 40, True), ("female", None, True),
    ("male", None, False),
])
def test_childbearing_potential_from_sex_and_age(sex, age, applicable):
    assert childbearing_potential(sex, age, SEXES, AGES) is applicable


def test_a_partial_birth_date_keeps_pregnancy_applicable_when_any_possible_age_is_in_range():
    assert possible_ages("1971", DAY) == (54, 55)
    assert possible_ages("1971-12", DAY) == (54, 55)
    assert possible_ages("1971-06-01", DAY) == (55, 55)
    assert childbearing_potential_from_birth_date("female", "1971", DAY, SEXES, AGES)  # 54 or 55
    assert childbearing_potential_from_birth_date("female", "1970", DAY, SEXES, AGES)  # 55 or 56
    assert not childbearing_potential_from_birth_date("female", "1969", DAY, SEXES, AGES)  # 56 or 57
    assert childbearing_potential_from_birth_date("female", None, DAY, SEXES, AGES)
    assert childbearing_potential_from_birth_date("female", "not-a-date", DAY, SEXES, AGES)
    assert not childbearing_potential_from_birth_date("male", None, DAY, SEXES, AGES)


@pytest.mark.parametrize("sexes, ages", [(("man",), AGES), (SEXES, (55.0, 10.0)), (SEXES, (10.0,)),
                                         (SEXES, (10.0, 200.0)), (SEXES, (float("nan"), 55.0))])
def test_impossible_pregnancy_settings_are_refused(sexes, ages):
    with pytest.raises(ValueError):
        validate_pregnancy_settings(sexes, ages)


def test_intake_and_documentation_apply_the_one_rule_with_the_same_defaults():
    from services.documentation.domain.pregnancy import pregnancy_applicability
    from services.documentation.domain.settings import SessionSettings
    from services.intake.domain.patient import AdministrativeSex, PatientSummary
    from services.intake.domain.pregnancy import childbearing_potential as intake_rule
    from services.intake.domain.settings import IntakeSettings

    intake, documentation = IntakeSettings(), SessionSettings()
    assert intake.pregnancy_not_applicable_sexes == documentation.pregnancy_not_applicable_sexes == SEXES
    assert intake.childbearing_age_range_years == documentation.childbearing_age_range_years == AGES
    for sex, birth_date, age in (("male", "1980-01-01", 46), ("female", "1996-01-01", 30),
                                 ("female", "1960-01-01", 66)):
        patient = PatientSummary("p", age, AdministrativeSex(sex), None)
        assert intake_rule(patient, intake) is pregnancy_applicability(sex, birth_date, DAY, documentation).applicable


@pytest.mark.parametrize("sexes", [("female",), ("male", "other"), ("unknown",)])
def test_a_sex_that_can_be_pregnant_cannot_be_made_not_applicable(sexes):
    """Reviewer R3: "female" (or "other", "unknown") was accepted, turning every pregnancy check off for them."""
    with pytest.raises(ValueError, match="pregnancy_not_applicable_sexes"):
        validate_pregnancy_settings(sexes, AGES)
    validate_pregnancy_settings((), AGES)  # none: only the age rules pregnancy out


def test_a_birth_date_after_the_day_is_an_unknown_age_not_a_child():
    """Reviewer R3: an EHR birth date in the future gave a negative age, outside the range: "not applicable"."""
    assert childbearing_potential_from_birth_date("female", "2030-01-01", DAY, SEXES, AGES)
    assert childbearing_potential_from_birth_date("female", "2026-12-08", DAY, SEXES, AGES)
    assert not childbearing_potential_from_birth_date("female", "2026-12-07", DAY, SEXES, AGES)  # born today: 0
