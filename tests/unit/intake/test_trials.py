from datetime import date

from services.intake.domain.medications import MedicationEntry
from services.intake.domain.settings import IntakeSettings
from services.intake.domain.trials import AntidepressantTrial, TrialCandidate, assess_trd, prior_trial_candidates


def trial(weeks=8, adequate_dose=True, improvement_pct=20, current_episode=True, drug="sertraline"):
    return AntidepressantTrial(drug, None, weeks, adequate_dose, improvement_pct, current_episode)


def test_two_failed_adequate_trials_meet_trd():
    result = assess_trd((trial(), trial(drug="escitalopram")), IntakeSettings())
    assert (result.adequate_trials, result.failed_adequate_trials, result.meets_trd) == (2, 2, True)


def test_a_trial_at_exactly_the_threshold_is_a_response():
    result = assess_trd((trial(), trial(improvement_pct=50)), IntakeSettings())
    assert (result.adequate_trials, result.failed_adequate_trials, result.meets_trd) == (2, 1, False)


def test_exactly_six_weeks_is_adequate_and_five_point_nine_is_not():
    assert assess_trd((trial(weeks=6), trial(weeks=6)), IntakeSettings()).meets_trd
    result = assess_trd((trial(weeks=6), trial(weeks=5.9)), IntakeSettings())
    assert result.adequate_trials == 1 and not result.meets_trd


def test_subtherapeutic_dose_and_earlier_episodes_do_not_count():
    trials = (trial(), trial(adequate_dose=False), trial(current_episode=False))
    result = assess_trd(trials, IntakeSettings())
    assert (result.adequate_trials, result.meets_trd) == (1, False)


def test_rule_numbers_come_from_settings_and_are_stored_with_the_result():
    settings = IntakeSettings(trd_min_adequate_trial_weeks=8, trd_response_threshold_pct=40)
    result = assess_trd((trial(weeks=8, improvement_pct=45), trial(weeks=7)), settings)
    assert (result.adequate_trials, result.failed_adequate_trials, result.meets_trd) == (1, 0, False)
    assert (result.min_adequate_trial_weeks, result.response_threshold_pct) == (8, 40)


def test_candidates_are_the_antidepressants_in_the_history_with_weeks():
    medications = (
        MedicationEntry("Sertraline 100 MG Oral Tablet", "completed", dose_text="100 mg daily",
                        started_on=date(2025, 6, 2), ended_on=date(2025, 8, 11), ehr_medication_statement_id="ms-1"),
        MedicationEntry("Lorazepam 1 MG", "active"),
        MedicationEntry("Duloxetine 60 MG", "entered-in-error"),
        MedicationEntry("Bupropion XL 300 MG", "active", started_on=date(2026, 1, 2)),
    )
    candidates = prior_trial_candidates(medications, IntakeSettings().antidepressant_terms, date(2026, 3, 2))
    assert candidates == (
        TrialCandidate("Sertraline 100 MG Oral Tablet", "100 mg daily", 10.0, "ms-1"),
        TrialCandidate("Bupropion XL 300 MG", None, 8.4, None),
    )
