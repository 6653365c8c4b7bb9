import pytest

from services.intake.domain.contraindications import ContraindicationClass
from services.intake.domain.decision import EligibilityOutcome
from services.intake.domain.settings import IntakeSettings
from shared.config import SettingsError, load_settings


def test_documented_defaults():
    settings = IntakeSettings()
    settings.validate()
    assert (settings.trd_min_adequate_trials, settings.trd_response_threshold_pct,
            settings.trd_min_adequate_trial_weeks) == (2, 50.0, 6.0)
    assert settings.absolute_contraindications == (
        "ketamine-hypersensitivity", "aneurysmal-vascular-disease", "arteriovenous-malformation",
        "intracerebral-haemorrhage-history",
    )
    assert len(settings.relative_contraindications) == 9
    assert settings.cssrs_high_risk_outcome is EligibilityOutcome.NOT_ELIGIBLE
    assert settings.blocking_interacting_drug_classes == ()
    assert {t.drug_class for t in settings.interacting_drug_class_terms} == {
        "xanthine", "benzodiazepine", "cns-depressant", "sympathomimetic", "maoi", "nmda-antagonist",
        "effect-blunting"}


def test_loads_from_intake_environment_variables():
    settings = load_settings(IntakeSettings, "INTAKE_", {
        "INTAKE_TRD_MIN_ADEQUATE_TRIAL_WEEKS": "8",
        "INTAKE_SYSTOLIC_PLAUSIBLE_RANGE_MMHG": "60, 260",
        "INTAKE_CSSRS_HIGH_RISK_OUTCOME": "not-eligible",
        "INTAKE_PHQ9_ITEM9_POSITIVE_NEEDS_REVIEW": "false",
        "INTAKE_BLOCKING_INTERACTING_DRUG_CLASSES": "maoi,xanthine",
    })
    assert settings.trd_min_adequate_trial_weeks == 8.0
    assert settings.systolic_plausible_range_mmhg == (60.0, 260.0)
    assert settings.cssrs_high_risk_outcome is EligibilityOutcome.NOT_ELIGIBLE
    assert settings.phq9_item9_positive_needs_review is False
    assert settings.blocking_interacting_drug_classes == ("maoi", "xanthine")


def test_clinic_moves_an_item_between_classes_from_the_environment():
    defaults = IntakeSettings()
    relative = ",".join(k for k in defaults.relative_contraindications if k != "active-psychosis")
    absolute = ",".join(defaults.absolute_contraindications + ("active-psychosis",))
    settings = load_settings(IntakeSettings, "INTAKE_", {
        "INTAKE_ABSOLUTE_CONTRAINDICATIONS": absolute, "INTAKE_RELATIVE_CONTRAINDICATIONS": relative})
    assert settings.contraindication_class("active-psychosis") is ContraindicationClass.ABSOLUTE
    assert settings.contraindication_class("uncontrolled-hypertension") is ContraindicationClass.RELATIVE
    assert settings.contraindication_class("ingrown-toenail") is None


@pytest.mark.parametrize("variable, value, message", [
    ("INTAKE_TRD_MIN_ADEQUATE_TRIALS", "0", "at least 1"),
    ("INTAKE_TRD_RESPONSE_THRESHOLD_PCT", "0", "above 0"),
    ("INTAKE_TRD_MIN_ADEQUATE_TRIAL_WEEKS", "0", "above 0"),
    ("INTAKE_RELATIVE_CONTRAINDICATIONS", "ketamine-hypersensitivity", "in both classes"),
    ("INTAKE_ABSOLUTE_CONTRAINDICATIONS", "Bad Key", "lower-case words"),
    ("INTAKE_INTERACTING_DRUG_TERMS", "theophylline", "class:name"),
    ("INTAKE_BLOCKING_INTERACTING_DRUG_CLASSES", "antihistamine", "unknown classes"),
    ("INTAKE_CSSRS_HIGH_RISK_ITEMS", "feels-sad", "unknown items"),
    ("INTAKE_CSSRS_HIGH_RISK_ITEMS", "suicidal-behaviour-lifetime", "both high and moderate"),
    ("INTAKE_CSSRS_HIGH_RISK_OUTCOME", "eligible", "needs-review or not-eligible"),
    ("INTAKE_REQUIRED_BASELINE_PARTS", "phq9,gad7", "unknown parts"),
    ("INTAKE_MDD_CONDITION_CODES", "370143000", "system|code"),
    ("INTAKE_HEART_RATE_PLAUSIBLE_RANGE_PER_MIN", "200,30", "low < high"),
    ("INTAKE_WEIGHT_PLAUSIBLE_RANGE_KG", "20", "two finite numbers"),
    ("INTAKE_SPO2_PLAUSIBLE_RANGE_PCT", "50,110", "cannot exceed 100"),
])
def test_bad_clinic_setting_stops_start_up_with_a_clear_message(variable, value, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(IntakeSettings, "INTAKE_", {variable: value})
