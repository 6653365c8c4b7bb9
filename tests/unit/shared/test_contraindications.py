"""The clinic's one contraindication list (``shared/contraindications.py``): the intake's screen keys and the
orders service's CDS cards read the same ``KETALINK_*`` settings, validated at start; the intake's old variables stop
the start rather than being silently ignored; condition codes match by system and code or code prefix."""
from __future__ import annotations

import pytest

from shared.config import SettingsError
from shared.contraindications import (
    DEFAULT_ABSOLUTE_CONTRAINDICATIONS, DEFAULT_CONDITION_CODES, DEFAULT_RELATIVE_CONTRAINDICATIONS, ICD10CM,
    ContraindicationSettings, load_contraindication_settings, matching_contraindications,
)
from shared.fhir.codes import SNOMED


def test_documented_defaults_are_the_intakes_keys_and_every_default_code_names_one() -> None:
    settings = load_contraindication_settings({})
    assert settings.absolute_contraindications == DEFAULT_ABSOLUTE_CONTRAINDICATIONS
    assert settings.relative_contraindications == DEFAULT_RELATIVE_CONTRAINDICATIONS
    keys = {code.key for code in settings.condition_codes}
    assert keys <= set(DEFAULT_ABSOLUTE_CONTRAINDICATIONS + DEFAULT_RELATIVE_CONTRAINDICATIONS)
    assert len(settings.condition_codes) == len(DEFAULT_CONDITION_CODES)


@pytest.mark.parametrize("system, code, key", [
    (ICD10CM, "I61.9", "intracerebral-haemorrhage-history"), (ICD10CM, "I69.151", "intracerebral-haemorrhage-history"),
    (ICD10CM, "I71.4", "aneurysmal-vascular-disease"), (ICD10CM, "I67.1", "aneurysmal-vascular-disease"),
    (ICD10CM, "Q28.2", "arteriovenous-malformation"), (ICD10CM, "I16.1", "uncontrolled-hypertension"),
    (ICD10CM, "I21.4", "unstable-cardiovascular-disease"), (ICD10CM, "F20.9", "active-psychosis"),
    (ICD10CM, "Z33.1", "pregnancy-or-breastfeeding"), (SNOMED, "77386006", "pregnancy-or-breastfeeding"),
    (SNOMED, "58214004", "active-psychosis"),
])
def test_default_codes_match_the_item(system: str, code: str, key: str) -> None:
    (found,) = matching_contraindications([(system, code)], ContraindicationSettings())
    assert found.key == key


@pytest.mark.parametrize("system, code", [
    (ICD10CM, "I10"), (ICD10CM, "F33.2"), (ICD10CM, "I67.0"), (ICD10CM, "Z33.2"), (SNOMED, "I61.9"),
    (ICD10CM, "I6"), (ICD10CM, "F21"),
])
def test_a_code_outside_the_list_matches_nothing(system: str, code: str) -> None:
    assert matching_contraindications([(system, code)], ContraindicationSettings()) == []


def test_the_clinic_sets_the_list_once_for_both_services() -> None:
    settings = load_contraindication_settings({
        "KETALINK_ABSOLUTE_CONTRAINDICATIONS": "ketamine-hypersensitivity,recent-stroke",
        "KETALINK_RELATIVE_CONTRAINDICATIONS": "active-psychosis",
        "KETALINK_CONTRAINDICATION_CONDITION_CODES": f"recent-stroke:{ICD10CM}|I63*, active-psychosis:{SNOMED}|58214004",
    })
    assert settings.is_absolute("recent-stroke") and not settings.is_absolute("active-psychosis")
    (stroke,) = matching_contraindications([(ICD10CM, "I63.9")], settings)
    assert stroke.key == "recent-stroke" and stroke.text == f"{ICD10CM}|I63*"


@pytest.mark.parametrize("variable, value, message", [
    ("KETALINK_ABSOLUTE_CONTRAINDICATIONS", "Bad Key", "lower-case words"),
    ("KETALINK_RELATIVE_CONTRAINDICATIONS", "ketamine-hypersensitivity", "in both classes"),
    ("KETALINK_CONTRAINDICATION_CONDITION_CODES", f"no-such-item:{ICD10CM}|I61*", "not contraindications"),
    ("KETALINK_CONTRAINDICATION_CONDITION_CODES", "active-psychosis:F20", "must be 'key:system|code'"),
    ("INTAKE_ABSOLUTE_CONTRAINDICATIONS", "ketamine-hypersensitivity", "replaced by KETALINK_ABSOLUTE"),
    ("INTAKE_RELATIVE_CONTRAINDICATIONS", "active-psychosis", "replaced by KETALINK_RELATIVE"),
])
def test_a_bad_or_moved_setting_stops_the_start_naming_it(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as refused:
        load_contraindication_settings({variable: value})
    assert variable.split("_")[0] in str(refused.value)


def test_the_intake_starts_with_the_clinics_list(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.intake.bootstrap import clinic_settings

    monkeypatch.setenv("KETALINK_ABSOLUTE_CONTRAINDICATIONS", ",".join(DEFAULT_ABSOLUTE_CONTRAINDICATIONS
                                                                       + ("active-psychosis",)))
    monkeypatch.setenv("KETALINK_RELATIVE_CONTRAINDICATIONS", ",".join(
        k for k in DEFAULT_RELATIVE_CONTRAINDICATIONS if k != "active-psychosis"))
    settings = clinic_settings()
    assert "active-psychosis" in settings.absolute_contraindications
    assert "active-psychosis" not in settings.relative_contraindications
    monkeypatch.setenv("INTAKE_RELATIVE_CONTRAINDICATIONS", "active-psychosis")
    with pytest.raises(SystemExit, match="replaced by KETALINK_RELATIVE_CONTRAINDICATIONS"):
        clinic_settings()
