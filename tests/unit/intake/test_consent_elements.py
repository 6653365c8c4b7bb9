"""Issue 13 defect 15: consent records each element explained and acknowledged (the clinic's list), carries them to
the EHR's Consent, and is incomplete (not eligible) until every configured element is acknowledged."""
import dataclasses

import pytest

from services.intake.domain.consent import DEFAULT_CONSENT_ELEMENTS, FASTING, NAUSEA
from services.intake.domain.decision import EligibilityOutcome, ReasonCode
from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.errors import IntakeInputError
from services.intake.domain.recording import record_consent
from services.intake.domain.settings import IntakeSettings
from services.intake.translators.consent_in import consent_from_fhir
from services.intake.translators.consent_out import consent_to_fhir
from shared.config import SettingsError, load_settings

from .builders import CONSENT_GIVEN, DECIDED_AT, eligible_intake

VERSION_AND_RIDE_HOME_ONLY = dataclasses.replace(CONSENT_GIVEN, elements_acknowledged=())


def test_default_elements_are_the_content_commonly_explained():
    assert DEFAULT_CONSENT_ELEMENTS == (
        "off-label-use", "dissociation-and-perceptual-changes", "blood-pressure-and-heart-rate-rise", "nausea",
        "abuse-potential", "bladder-effects-with-long-term-use", "unknown-long-term-effects", "fasting",
        "escort-and-no-driving-until-next-day")
    assert IntakeSettings().consent_elements == DEFAULT_CONSENT_ELEMENTS


def test_version_and_ride_home_alone_is_incomplete_consent_and_not_eligible(settings):
    intake = record_consent(eligible_intake(settings), VERSION_AND_RIDE_HOME_ONLY, settings)
    decision = decide_eligibility(intake, settings, DECIDED_AT).decision
    assert decision.outcome is EligibilityOutcome.NOT_ELIGIBLE
    reason = next(r for r in decision.reasons if r.code is ReasonCode.CONSENT_INCOMPLETE)
    assert "Nausea" in reason.text and "Fasting before each infusion" in reason.text


def test_one_element_missing_is_named(settings):
    missing_one = dataclasses.replace(CONSENT_GIVEN, elements_acknowledged=tuple(
        key for key in DEFAULT_CONSENT_ELEMENTS if key != NAUSEA))
    intake = record_consent(eligible_intake(settings), missing_one, settings)
    decision = decide_eligibility(intake, settings, DECIDED_AT).decision
    assert decision.outcome is EligibilityOutcome.NOT_ELIGIBLE
    assert "not explained and acknowledged: Nausea" in decision.rationale


def test_every_element_acknowledged_is_complete(settings):
    decision = decide_eligibility(eligible_intake(settings), settings, DECIDED_AT).decision
    assert decision.outcome is EligibilityOutcome.ELIGIBLE


def test_clinic_configures_its_elements():
    settings = load_settings(IntakeSettings, "INTAKE_", {"INTAKE_CONSENT_ELEMENTS": "nausea,fasting,clinic-leaflet"})
    consent = dataclasses.replace(CONSENT_GIVEN, elements_acknowledged=("fasting", "clinic-leaflet", "nausea"))
    intake = record_consent(eligible_intake(settings), consent, settings)
    assert intake.consent.elements_acknowledged == ("nausea", "fasting", "clinic-leaflet")  # the clinic's order
    assert decide_eligibility(intake, settings, DECIDED_AT).decision.outcome is EligibilityOutcome.ELIGIBLE
    with pytest.raises(SettingsError):
        load_settings(IntakeSettings, "INTAKE_", {"INTAKE_CONSENT_ELEMENTS": "Nausea!"})


@pytest.mark.parametrize("elements, field", [
    (("nausea", "made-up"), "consent.elements_acknowledged[1]"),
    (("nausea", "nausea"), "consent.elements_acknowledged[1]"),
])
def test_unknown_or_repeated_elements_are_refused(settings, elements, field):
    with pytest.raises(IntakeInputError) as error:
        record_consent(eligible_intake(settings), dataclasses.replace(CONSENT_GIVEN, elements_acknowledged=elements),
                       settings)
    assert error.value.field == field


def test_elements_travel_to_the_ehr_consent_as_provisions_and_back():
    consent = consent_to_fhir(CONSENT_GIVEN, "pat-123", "intake-0001")
    provisions = consent["provision"]["provision"]
    codes = [p["code"][0]["coding"][0]["code"] for p in provisions]
    assert codes[0] == "ride-home-agreement"
    assert codes[1:] == [f"consent-element-{key}" for key in DEFAULT_CONSENT_ELEMENTS]
    fasting = provisions[1 + DEFAULT_CONSENT_ELEMENTS.index(FASTING)]
    assert fasting["type"] == "permit" and fasting["code"][0]["text"].startswith("Explained and acknowledged")
    assert consent_from_fhir(consent).record.elements_acknowledged == DEFAULT_CONSENT_ELEMENTS


def test_a_stored_consent_from_before_elements_reads_as_none_acknowledged():
    stored = CONSENT_GIVEN.to_dict()
    del stored["elements_acknowledged"]
    assert type(CONSENT_GIVEN).from_dict(stored).elements_acknowledged == ()
