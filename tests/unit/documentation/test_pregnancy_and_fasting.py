"""Issue 13 defect 18 (documentation part): the pre-infusion pregnancy check may be "not applicable" only when the
patient's EHR record (sex, age on the day) rules pregnancy out; fasting is the recorded times of the last solid food
and clear fluids against the clinic's fasting windows, not a yes/no."""
from __future__ import annotations

import dataclasses
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from services.documentation.domain import session as s
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.note_text import generate_note
from services.documentation.domain.pre_check import PreCheckAttempt, PreCheckOutcome, PregnancyCheck
from services.documentation.domain.pregnancy import pregnancy_applicability, record_unreadable
from services.documentation.domain.settings import SessionSettings
from shared.clinic_time import clinic_zone_context
from shared.config import load_settings

from .builders import DOCTOR, NURSE, SETTINGS, at, confirmations, make_order, pre_checked, baseline

DAY = date(2026, 3, 2)
NOT_APPLICABLE = confirmations(pregnancy_check=PregnancyCheck.NOT_APPLICABLE)


def record(sex: str | None, birth_date: str | None, settings: SessionSettings = SETTINGS):
    return pregnancy_applicability(sex, birth_date, DAY, settings)


# --- pregnancy ---------------------------------------------------------------------------------------------------
def test_not_applicable_is_accepted_for_a_male_adult_and_the_note_says_why():
    order = make_order()
    session = pre_checked(order, confirmed=NOT_APPLICABLE, pregnancy=record("male", "1980-05-01"))
    assert session.latest_pre_check.result.outcome is PreCheckOutcome.CLEARED
    deferred = s.defer(session, "patient asked to reschedule", NURSE, at(9, 20))
    with clinic_zone_context(ZoneInfo("Europe/Paris")):
        text = generate_note(deferred, order)
    assert "pregnancy check not-applicable (EHR record: sex male, age 45)" in text


@pytest.mark.parametrize("sex, birth_date", [("female", "1996-01-15"), ("other", "1980-05-01"),
                                             ("unknown", "1980-05-01"), (None, None), ("female", "1971")])
def test_not_applicable_is_refused_when_the_record_does_not_rule_pregnancy_out(sex, birth_date):
    """A woman of 30, sex other or unknown, no record details, or a partial birth date that may still be 55."""
    with pytest.raises(DocumentationInputError) as error:
        pre_checked(confirmed=NOT_APPLICABLE, pregnancy=record(sex, birth_date))
    assert error.value.field == "confirmations.pregnancy_check"
    assert "record the pregnancy check" in str(error.value)


@pytest.mark.parametrize("pregnancy", [None, record_unreadable("it answered HTTP 503")])
def test_not_applicable_is_refused_when_the_ehr_record_could_not_be_read(pregnancy):
    with pytest.raises(DocumentationInputError) as error:
        pre_checked(confirmed=NOT_APPLICABLE, pregnancy=pregnancy)
    assert error.value.field == "confirmations.pregnancy_check"
    assert "could not be read" in str(error.value)


def test_a_pregnancy_answer_is_always_accepted_whatever_the_record():
    for answer in (PregnancyCheck.NEGATIVE, PregnancyCheck.POSITIVE, PregnancyCheck.NOT_DONE):
        session = pre_checked(confirmed=confirmations(pregnancy_check=answer), pregnancy=record("male", "1980-05-01"))
        assert session.latest_pre_check.confirmations.pregnancy_check is answer


def test_the_childbearing_age_range_and_the_sexes_are_settings():
    assert not record("female", "1960-01-01").applicable  # 66: outside 10-55
    wider = load_settings(SessionSettings, "DOCUMENTATION_", {"DOCUMENTATION_CHILDBEARING_AGE_RANGE_YEARS": "8,70"})
    assert record("female", "1960-01-01", wider).applicable
    nobody = dataclasses.replace(SETTINGS, pregnancy_not_applicable_sexes=())  # only the age rules it out
    assert record("male", "1980-05-01", nobody).applicable
    with pytest.raises(Exception, match="pregnancy_not_applicable_sexes"):
        load_settings(SessionSettings, "DOCUMENTATION_", {"DOCUMENTATION_PREGNANCY_NOT_APPLICABLE_SEXES": "man"})


# --- fasting -----------------------------------------------------------------------------------------------------
def test_solid_food_5_hours_before_the_check_holds_and_cannot_be_overridden():
    order = make_order()
    session = pre_checked(order, pre_reading=baseline("pre-1", at(9, 5), heart_rate=114),
                          confirmed=confirmations(last_solid_food_at=at(4, 6)))  # check at 09:06
    assert session.latest_pre_check.result.outcome is PreCheckOutcome.HOLD
    assert session.latest_pre_check.result.confirmation_holds == (
        "last solid food 5 h 00 min before the check, under the 6 h fasting window: wait 1 h 00 min and check again",)
    overridden = s.override_pre_check_hold(session, "baseline tachycardia", DOCTOR, at(9, 12))
    with pytest.raises(TransitionNotAllowed):
        s.start_infusion(overridden, order, NURSE, at(9, 14))


@pytest.mark.parametrize("solids, fluids", [(at(2, 6), at(7, 6)), (at(3, 6), at(7, 6)), (at(2, 6), at(6, 0))])
def test_fasting_windows_met_clear(solids, fluids):
    """7 h and 6 h (exactly at the window) since solids, 2 h and 3 h 06 min since clear fluids."""
    session = pre_checked(confirmed=confirmations(last_solid_food_at=solids, last_clear_fluids_at=fluids))
    assert session.latest_pre_check.result.outcome is PreCheckOutcome.CLEARED


def test_clear_fluids_within_the_window_hold():
    session = pre_checked(confirmed=confirmations(last_clear_fluids_at=at(8, 0)))
    assert session.latest_pre_check.result.confirmation_holds == (
        "last clear fluids 1 h 06 min before the check, under the 2 h fasting window: wait 0 h 54 min and check again",)


def test_the_fasting_windows_are_settings():
    strict = load_settings(SessionSettings, "DOCUMENTATION_", {"DOCUMENTATION_FASTING_SOLIDS_HOURS": "8"})
    session = pre_checked(settings=strict, confirmed=confirmations(last_solid_food_at=at(2, 6)))
    assert session.latest_pre_check.result.outcome is PreCheckOutcome.HOLD
    for bad in ({"DOCUMENTATION_FASTING_CLEAR_FLUIDS_HOURS": "7"}, {"DOCUMENTATION_FASTING_SOLIDS_HOURS": "25"},
                {"DOCUMENTATION_FASTING_SOLIDS_HOURS": "0"},
                {"DOCUMENTATION_FASTING_TIME_MAX_HOURS_BEFORE_CHECK": "5"}):
        with pytest.raises(Exception, match="fasting"):
            load_settings(SessionSettings, "DOCUMENTATION_", bad)


@pytest.mark.parametrize("field, moment, why", [
    ("last_solid_food_at", at(9, 30), "after the check"),  # check at 09:06: in the future of the check
    ("last_clear_fluids_at", at(9, 7), "after the check"),
    ("last_solid_food_at", at(1, 0, day=1).replace(year=1), "check the date"),  # year 1
    ("last_clear_fluids_at", at(9, 0, day=2) - (at(9, 0, day=9) - at(9, 0, day=2)), "check the date"),  # 7 days
    ("last_solid_food_at", None, "required"),
])
def test_implausible_or_missing_fasting_times_are_refused_naming_the_field(field, moment, why):
    with pytest.raises(DocumentationInputError) as error:
        pre_checked(confirmed=confirmations(**{field: moment}))
    assert error.value.field == f"confirmations.{field}"
    assert why in str(error.value)


def test_the_note_states_the_fasting_times_in_clinic_time():
    order = make_order()
    deferred = s.defer(pre_checked(order), "patient unwell", NURSE, at(9, 20))
    with clinic_zone_context(ZoneInfo("Europe/Paris")):
        text = generate_note(deferred, order)
    assert "    fasting: last solid food 2026-03-02 01:00 CET (UTC+01:00), last clear fluids 2026-03-02 07:00 CET " \
           "(UTC+01:00)" in text
    assert "fasting confirmed" not in text


def test_a_check_stored_before_the_fasting_times_is_still_read_and_shown_as_recorded():
    order = make_order()
    stored = pre_checked(order).latest_pre_check.to_dict()
    del stored["pregnancy_applicability"]
    for name in ("last_solid_food_at", "last_clear_fluids_at"):
        del stored["confirmations"][name]
    del stored["confirmations"]["fasting_confirmed"]
    stored["confirmations"] = {"fasting_confirmed": True, **stored["confirmations"]}  # the old document's shape
    old = PreCheckAttempt.from_dict(stored)
    assert old.confirmations.fasting_confirmed is True and old.confirmations.last_solid_food_at is None
    session = dataclasses.replace(pre_checked(order), pre_checks=(old,))
    with clinic_zone_context(ZoneInfo("Europe/Paris")):
        text = generate_note(s.defer(session, "patient unwell", NURSE, at(9, 20)), order)
    assert "fasting confirmed; ride home confirmed" in text
