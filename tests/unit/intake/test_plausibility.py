"""Issue 13 defect 24 (intake): impossible clinical times and values are refused, naming the field, before anything is
stored; a stored time after the decision cannot make a patient eligible."""
import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from services.intake.domain.decision import EligibilityOutcome, ReasonCode
from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.errors import IntakeInputError
from services.intake.domain.patient import AdministrativeSex, PatientSummary, Referral, ReferralSource
from services.intake.domain.recording import (
    record_consent,
    record_cssrs,
    record_madrs,
    record_patient,
    record_phq9,
    record_trials,
    record_vitals,
    start_intake,
)
from services.intake.domain.settings import IntakeSettings
from services.intake.domain.trials import AntidepressantTrial
from services.intake.domain.vitals import BaselineVitals, VitalReading

from .builders import CONSENT_GIVEN, CSSRS_LOW, DECIDED_AT, INTAKE_ID, PATIENT_ID, PHQ9_ITEMS, MADRS_ITEMS, T0, \
    SERTRALINE_FAILED, eligible_intake
from tests.unit.intake.builders import ADA

NOW = T0 + timedelta(hours=1)
YEAR_9999 = datetime(9999, 1, 1, tzinfo=timezone.utc)
YEAR_1 = datetime(1, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("moment", [YEAR_9999, NOW + timedelta(minutes=6)], ids=["year-9999", "6-min-ahead"])
def test_consent_signed_in_the_future_is_refused(settings, moment):
    with pytest.raises(IntakeInputError) as error:
        record_consent(eligible_intake(settings), dataclasses.replace(CONSENT_GIVEN, signed_at=moment), settings,
                       now=NOW)
    assert error.value.field == "consent.signed_at" and "future" in error.value.message


def test_within_the_clock_skew_is_accepted(settings):
    intake = record_consent(eligible_intake(settings), dataclasses.replace(
        CONSENT_GIVEN, signed_at=NOW + timedelta(minutes=4)), settings, now=NOW)
    assert intake.consent.signed_at == NOW + timedelta(minutes=4)


@pytest.mark.parametrize("record, field", [
    (lambda i, s, t: record_phq9(i, PHQ9_ITEMS, t, s, NOW), "phq9.answered_at"),
    (lambda i, s, t: record_madrs(i, MADRS_ITEMS, t, ADA, s, NOW), "madrs.rated_at"),
    (lambda i, s, t: record_cssrs(i, CSSRS_LOW, t, s, NOW), "cssrs.answered_at"),
    (lambda i, s, t: record_vitals(i, BaselineVitals(heart_rate_per_min=VitalReading(72, t)), s, NOW),
     "vitals.heart_rate_per_min.measured_at"),
])
@pytest.mark.parametrize("moment", [YEAR_9999, YEAR_1, T0 - timedelta(days=91)], ids=["9999", "year-1", "91-days"])
def test_every_part_time_is_bounded_on_both_sides(settings, record, field, moment):
    with pytest.raises(IntakeInputError) as error:
        record(eligible_intake(settings), settings, moment)
    assert error.value.field == field


def test_the_look_back_window_is_a_setting():
    settings = IntakeSettings(part_time_lookback_days=120)
    intake = record_phq9(eligible_intake(settings), PHQ9_ITEMS, T0 - timedelta(days=100), settings, NOW)
    assert intake.phq9.answered_at == T0 - timedelta(days=100)


def test_an_ehr_reading_may_be_old_but_not_before_birth_or_in_the_future(settings):
    intake = record_patient(eligible_intake(settings), PatientSummary(PATIENT_ID, 40, AdministrativeSex.MALE, None),
                            settings)
    old_weight = BaselineVitals(weight_kg=VitalReading(80, T0 - timedelta(days=400), "obs-1"))
    assert record_vitals(intake, old_weight, settings, NOW).vitals.weight_kg.ehr_observation_id == "obs-1"
    for moment in (datetime(1900, 1, 1, tzinfo=timezone.utc), YEAR_9999):
        with pytest.raises(IntakeInputError) as error:
            record_vitals(intake, BaselineVitals(weight_kg=VitalReading(80, moment, "obs-1")), settings, NOW)
        assert error.value.field == "vitals.weight_kg.measured_at"


@pytest.mark.parametrize("change, field", [
    ({"duration_weeks": 1e308}, "trials[0].duration_weeks"),
    ({"duration_weeks": 521}, "trials[0].duration_weeks"),
    ({"improvement_pct": -1e308}, "trials[0].improvement_pct"),
    ({"improvement_pct": -301}, "trials[0].improvement_pct"),
])
def test_trial_numbers_outside_sane_ranges_are_refused(settings, change, field):
    with pytest.raises(IntakeInputError) as error:
        record_trials(eligible_intake(settings), [dataclasses.replace(SERTRALINE_FAILED, **change)], settings)
    assert error.value.field == field


def test_an_impossible_age_from_the_ehr_is_refused(settings):
    with pytest.raises(IntakeInputError) as error:
        record_patient(eligible_intake(settings), PatientSummary(PATIENT_ID, 2025, AdministrativeSex.FEMALE, None),
                       settings)
    assert error.value.field == "patient.age_years"


@pytest.mark.parametrize("requested_at", [YEAR_9999, YEAR_1, T0 - timedelta(days=366)])
def test_a_referral_with_an_impossible_time_starts_no_intake(settings, requested_at):
    referral = Referral(PATIENT_ID, ReferralSource.EHR, requested_at)
    with pytest.raises(IntakeInputError) as error:
        start_intake(INTAKE_ID, PATIENT_ID, T0, referral, settings=settings)
    assert error.value.field == "referral.requested_at"


def test_a_stored_part_dated_after_the_decision_blocks_it(settings):
    """A record stored before these checks (PHQ-9 and consent in year 9999) cannot decide "eligible"."""
    intake = dataclasses.replace(eligible_intake(settings), consent=dataclasses.replace(CONSENT_GIVEN,
                                                                                        signed_at=YEAR_9999))
    decision = decide_eligibility(intake, settings, DECIDED_AT).decision
    assert decision.outcome is EligibilityOutcome.NOT_ELIGIBLE
    reason = next(r for r in decision.reasons if r.code is ReasonCode.IMPLAUSIBLE_TIME)
    assert "consent" in reason.text


def test_settings_bound_their_own_ranges():
    with pytest.raises(ValueError):
        IntakeSettings(trial_duration_plausible_range_weeks=(0.0, float("inf"))).validate()
    with pytest.raises(ValueError):
        IntakeSettings(clock_skew_minutes=-1).validate()
