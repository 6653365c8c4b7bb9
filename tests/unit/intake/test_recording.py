import dataclasses
from datetime import datetime, timedelta

import pytest

from services.intake.domain.consent import ConsentSigner
from services.intake.domain.contraindications import ContraindicationAnswer, Presence
from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.errors import IntakeInputError, IntakeStateError
from services.intake.domain.medications import MedicationEntry
from services.intake.domain.model import Intake, IntakeStatus
from services.intake.domain.overrides import ClinicianOverride, OverrideTarget
from services.intake.domain.patient import AdministrativeSex, PatientSummary, Referral, ReferralSource
from services.intake.domain.recording import (
    record_consent,
    record_contraindications,
    record_medications,
    record_override,
    record_patient,
    record_phq9,
    record_trials,
    record_vitals,
    reopen_intake,
    start_intake,
)
from services.intake.domain.trials import AntidepressantTrial
from services.intake.domain.vitals import BaselineVitals, BloodPressure, VitalReading

from .builders import BASELINE_VITALS, CONSENT_GIVEN, DECIDED_AT, PATIENT_ID, T0, eligible_intake, screen_answers
from tests.unit.intake.builders import ADA, HOPPER


def field_of(call):
    with pytest.raises(IntakeInputError) as error:
        call()
    return error.value.field


class TestStart:
    def test_started_by_clinician_without_referral(self):
        intake = start_intake("i-1", "p-1", T0)
        assert intake.status is IntakeStatus.IN_PROGRESS and intake.referral is None and intake.trials is None

    def test_referral_for_another_patient_is_refused(self):
        referral = Referral("p-2", ReferralSource.EHR, T0)
        assert field_of(lambda: start_intake("i-1", "p-1", T0, referral)) == "referral.patient_id"

    def test_naive_start_time_is_refused(self):
        assert field_of(lambda: start_intake("i-1", "p-1", datetime(2026, 3, 2))) == "started_at"

    def test_blank_ids_are_refused(self):
        assert field_of(lambda: start_intake(" ", "p-1", T0)) == "intake_id"

    def test_the_clinician_who_started_it_is_kept_and_an_ehr_referral_has_none(self):
        assert start_intake("i-1", "p-1", T0, started_by=ADA).started_by == ADA
        referral = Referral("p-1", ReferralSource.EHR, T0)
        assert start_intake("i-1", "p-1", T0, referral).started_by is None
        assert field_of(lambda: start_intake("i-1", "p-1", T0, started_by=42)) == "started_by"

    def test_who_started_it_survives_storage_and_older_documents_read_as_unknown(self):
        intake = start_intake("i-1", "p-1", T0, started_by=ADA)
        stored = intake.to_dict()
        assert stored["started_by"] == ADA.to_dict()
        assert Intake.from_dict(stored) == intake
        del stored["started_by"]  # written before the field existed
        assert Intake.from_dict(stored).started_by is None


class TestPatientAndMedications:
    def test_patient_summary_must_be_the_intakes_patient(self, settings):
        other = PatientSummary("someone-else", 40, AdministrativeSex.FEMALE, None)
        assert field_of(lambda: record_patient(eligible_intake(settings), other)) == "patient.ehr_patient_id"

    def test_patient_summary_recorded(self, settings):
        summary = PatientSummary(PATIENT_ID, 44, AdministrativeSex.FEMALE, "Ada Example")
        assert record_patient(eligible_intake(settings), summary).patient == summary

    def test_medication_without_name_is_refused(self, settings):
        meds = [MedicationEntry("Sertraline", "active"), MedicationEntry(" ", "active")]
        assert field_of(lambda: record_medications(eligible_intake(settings), meds)) == "medications[1].drug_name"


class TestTrials:
    def test_trial_fields_are_checked_and_named(self, settings):
        intake = eligible_intake(settings)
        good = AntidepressantTrial("sertraline", None, 8, True, 20, True)
        cases = {
            "trials[1].duration_weeks": dataclasses.replace(good, duration_weeks=-1),
            "trials[1].improvement_pct": dataclasses.replace(good, improvement_pct=120),
            "trials[1].drug_name": dataclasses.replace(good, drug_name=""),
            "trials[1].adequate_dose": dataclasses.replace(good, adequate_dose="yes"),
        }
        for expected_field, bad in cases.items():
            assert field_of(lambda: record_trials(intake, [good, bad])) == expected_field

    def test_worsening_is_a_negative_improvement_and_accepted(self, settings):
        trial = AntidepressantTrial("bupropion", "300 mg", 7, True, -25, True)
        assert record_trials(eligible_intake(settings), [trial]).trials == (trial,)

    def test_empty_list_records_no_prior_trials(self, settings):
        assert record_trials(eligible_intake(settings), []).trials == ()


class TestContraindicationScreen:
    def test_unknown_key_is_refused_and_named(self, settings):
        answers = screen_answers(settings) + [ContraindicationAnswer("ingrown-toenail", Presence.PRESENT)]
        index = len(answers) - 1
        field = field_of(lambda: record_contraindications(eligible_intake(settings), answers, T0, ADA, settings))
        assert field == f"contraindications.answers[{index}].key"

    def test_duplicate_key_is_refused(self, settings):
        answers = [ContraindicationAnswer("uncontrolled-hypertension", Presence.ABSENT),
                   ContraindicationAnswer("uncontrolled-hypertension", Presence.PRESENT)]
        field = field_of(lambda: record_contraindications(eligible_intake(settings), answers, T0, ADA, settings))
        assert field == "contraindications.answers[1].key"

    def test_presence_given_as_text_is_accepted_and_bad_text_named(self, settings):
        intake = record_contraindications(
            eligible_intake(settings), [ContraindicationAnswer("ketamine-hypersensitivity", "unknown", "  rash? ")],
            T0, ADA, settings,
        )
        assert intake.contraindications.answers[0] == ContraindicationAnswer(
            "ketamine-hypersensitivity", Presence.UNKNOWN, "rash?")
        bad = [ContraindicationAnswer("ketamine-hypersensitivity", "maybe")]
        assert field_of(lambda: record_contraindications(intake, bad, T0, ADA, settings)) == \
            "contraindications.answers[0].presence"

    def test_clinic_added_item_is_accepted(self):
        from services.intake.domain.settings import IntakeSettings
        settings = IntakeSettings(relative_contraindications=("severe-asthma",))
        answers = [ContraindicationAnswer("severe-asthma", Presence.ABSENT)]
        intake = record_contraindications(eligible_intake(settings), answers, T0, ADA, settings)
        assert intake.contraindications.answer_for("severe-asthma").presence is Presence.ABSENT


class TestOverride:
    def make(self, key, target=OverrideTarget.CONTRAINDICATION, **changes):
        values = dict(overridden_by=HOPPER, overridden_at=T0, reason="benefit outweighs risk")
        values.update(changes)
        return ClinicianOverride(target, key, **values)

    def test_absolute_contraindication_cannot_be_overridden(self, settings):
        intake = record_contraindications(
            eligible_intake(settings), screen_answers(settings, ketamine_hypersensitivity=Presence.PRESENT), T0,
            ADA, settings)
        with pytest.raises(IntakeInputError, match="absolute contraindication and cannot be overridden"):
            record_override(intake, self.make("ketamine-hypersensitivity"), settings)

    def test_absent_item_cannot_be_overridden(self, settings):
        with pytest.raises(IntakeInputError, match="not present or unknown"):
            record_override(eligible_intake(settings), self.make("uncontrolled-hypertension"), settings)

    def test_reason_and_who_are_required(self, settings):
        intake = record_contraindications(
            eligible_intake(settings), screen_answers(settings, uncontrolled_hypertension=Presence.PRESENT), T0,
            ADA, settings)
        assert field_of(lambda: record_override(intake, self.make("uncontrolled-hypertension", reason=" "),
                                                settings)) == "override.reason"
        assert field_of(lambda: record_override(intake, self.make("uncontrolled-hypertension", overridden_by=""),
                                                settings)) == "override.overridden_by"
        assert field_of(lambda: record_override(
            intake, self.make("uncontrolled-hypertension", overridden_at=datetime(2026, 3, 2)), settings
        )) == "override.overridden_at"

    def test_a_later_override_of_the_same_item_replaces_the_earlier(self, settings):
        intake = record_contraindications(
            eligible_intake(settings), screen_answers(settings, uncontrolled_hypertension=Presence.PRESENT), T0,
            ADA, settings)
        intake = record_override(intake, self.make("uncontrolled-hypertension", reason="first"), settings)
        intake = record_override(intake, self.make("uncontrolled-hypertension", reason="second"), settings)
        assert [o.reason for o in intake.overrides] == ["second"]

    def test_drug_class_override_needs_a_flagged_current_drug_and_a_non_blocking_class(self):
        from services.intake.domain.settings import IntakeSettings
        settings = IntakeSettings(blocking_interacting_drug_classes=("maoi",))
        intake = record_medications(eligible_intake(settings), [MedicationEntry("Alprazolam 0.5 MG", "active"),
                                                                MedicationEntry("Phenelzine 15 MG", "active")])
        with pytest.raises(IntakeInputError, match="no current medication is flagged"):
            record_override(intake, self.make("xanthine", OverrideTarget.INTERACTING_DRUG_CLASS), settings)
        with pytest.raises(IntakeInputError, match="blocks and cannot be overridden"):
            record_override(intake, self.make("maoi", OverrideTarget.INTERACTING_DRUG_CLASS), settings)
        done = record_override(intake, self.make("benzodiazepine", OverrideTarget.INTERACTING_DRUG_CLASS), settings)
        assert done.overrides[0].key == "benzodiazepine"


class TestVitals:
    def test_readings_merge_and_a_newer_reading_replaces_the_old(self, settings):
        intake = start_intake("i-1", "p-1", T0)
        intake = record_vitals(intake, BaselineVitals(weight_kg=VitalReading(80, T0, "ehr-obs-7")), settings)
        later = T0 + timedelta(minutes=5)
        intake = record_vitals(intake, BaselineVitals(heart_rate_per_min=VitalReading(70, later)), settings)
        intake = record_vitals(intake, BaselineVitals(heart_rate_per_min=VitalReading(66, later)), settings)
        assert intake.vitals.weight_kg == VitalReading(80, T0, "ehr-obs-7")
        assert intake.vitals.heart_rate_per_min.value == 66

    @pytest.mark.parametrize("vitals, expected_field", [
        (BaselineVitals(heart_rate_per_min=VitalReading(300, T0)), "vitals.heart_rate_per_min.value"),
        (BaselineVitals(spo2_pct=VitalReading(101, T0)), "vitals.spo2_pct.value"),
        (BaselineVitals(respiratory_rate_per_min=VitalReading(2, T0)), "vitals.respiratory_rate_per_min.value"),
        (BaselineVitals(weight_kg=VitalReading(8.2, T0)), "vitals.weight_kg.value"),  # grams typed as kg
        (BaselineVitals(height_cm=VitalReading(1.76, T0)), "vitals.height_cm.value"),  # metres typed as cm
        (BaselineVitals(blood_pressure=BloodPressure(320, 80, T0)), "vitals.blood_pressure.systolic_mmhg"),
        (BaselineVitals(blood_pressure=BloodPressure(82, 128, T0)), "vitals.blood_pressure.diastolic_mmhg"),
        (BaselineVitals(blood_pressure=BloodPressure(128, 82, datetime(2026, 3, 2))),
         "vitals.blood_pressure.measured_at"),
        (BaselineVitals(heart_rate_per_min=VitalReading(float("nan"), T0)), "vitals.heart_rate_per_min.value"),
    ])
    def test_implausible_or_incomplete_readings_are_refused(self, settings, vitals, expected_field):
        assert field_of(lambda: record_vitals(start_intake("i", "p", T0), vitals, settings)) == expected_field

    def test_range_limits_are_inclusive_and_follow_settings(self, settings):
        edge = BaselineVitals(spo2_pct=VitalReading(100, T0), heart_rate_per_min=VitalReading(20, T0))
        assert record_vitals(start_intake("i", "p", T0), edge, settings).vitals.spo2_pct.value == 100
        from services.intake.domain.settings import IntakeSettings
        strict = IntakeSettings(heart_rate_plausible_range_per_min=(30.0, 200.0))
        assert field_of(lambda: record_vitals(start_intake("i", "p", T0), edge, strict)) == \
            "vitals.heart_rate_per_min.value"

    def test_one_bad_reading_records_nothing(self, settings):
        bad = dataclasses.replace(BASELINE_VITALS, spo2_pct=VitalReading(40, T0))
        intake = start_intake("i", "p", T0)
        with pytest.raises(IntakeInputError):
            record_vitals(intake, bad, settings)
        assert intake.vitals == BaselineVitals()


class TestConsent:
    def test_representative_must_be_named(self, settings):
        consent = dataclasses.replace(CONSENT_GIVEN, signed_by=ConsentSigner.LEGAL_REPRESENTATIVE, signer_name=None)
        assert field_of(lambda: record_consent(eligible_intake(settings), consent)) == "consent.signer_name"

    def test_version_and_ride_home_answer_are_required(self, settings):
        intake = eligible_intake(settings)
        no_version = dataclasses.replace(CONSENT_GIVEN, consent_text_version="")
        assert field_of(lambda: record_consent(intake, no_version)) == "consent.consent_text_version"
        no_answer = dataclasses.replace(CONSENT_GIVEN, ride_home_agreed=None)
        assert field_of(lambda: record_consent(intake, no_answer)) == "consent.ride_home_agreed"

    def test_decision_given_as_text_is_accepted(self, settings):
        consent = dataclasses.replace(CONSENT_GIVEN, decision="refused", signed_by="patient")
        recorded = record_consent(eligible_intake(settings), consent).consent
        assert recorded.decision.value == "refused" and recorded.signed_by is ConsentSigner.PATIENT


class TestLifecycle:
    def test_recording_after_a_decision_is_refused(self, settings):
        decided = decide_eligibility(eligible_intake(settings), settings, DECIDED_AT)
        for attempt in (
            lambda: record_phq9(decided, [0] * 9, T0),
            lambda: record_consent(decided, CONSENT_GIVEN),
            lambda: record_vitals(decided, BASELINE_VITALS, settings),
            lambda: record_trials(decided, []),
        ):
            with pytest.raises(IntakeStateError):
                attempt()

    def test_reopen_records_who_when_why_and_the_set_aside_decision(self, settings):
        decided = decide_eligibility(eligible_intake(settings), settings, DECIDED_AT)
        reopened_at = DECIDED_AT + timedelta(days=1)
        reopened = reopen_intake(decided, HOPPER, reopened_at, "new BP reading")
        assert reopened.status is IntakeStatus.IN_PROGRESS and reopened.decision is None
        assert reopened.reopenings[0].reopened_by == HOPPER
        assert reopened.reopenings[0].reopened_at == reopened_at
        assert reopened.reopenings[0].previous_decision == decided.decision
        changed = record_phq9(reopened, [1] * 9, reopened_at)
        assert changed.phq9.total_score == 9

    def test_only_a_decided_intake_can_be_reopened(self, settings):
        with pytest.raises(IntakeStateError):
            reopen_intake(eligible_intake(settings), HOPPER, DECIDED_AT, "why")

    def test_reopen_needs_who_and_why(self, settings):
        decided = decide_eligibility(eligible_intake(settings), settings, DECIDED_AT)
        assert field_of(lambda: reopen_intake(decided, "", DECIDED_AT, "why")) == "reopened_by"
        assert field_of(lambda: reopen_intake(decided, HOPPER, DECIDED_AT, " ")) == "reason"
