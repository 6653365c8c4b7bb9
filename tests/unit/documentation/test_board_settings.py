"""The suite board's settings (``DOCUMENTATION_BOARD_*``, checked at start-up) and how a patient's name is shown on
it (initials by default: a wall screen is seen by patients and visitors)."""
from __future__ import annotations

import pytest

from services.documentation.ui.board import DEFAULT_ROLE_CODES, BoardSettings, patient_label
from shared.config import SettingsError, load_settings

PATIENT = {"resourceType": "Patient", "name": [
    {"use": "nickname", "given": ["Jo"]},
    {"use": "official", "family": "Okafor", "given": ["Jordan", "Avery"], "text": "Jordan Avery Okafor"}]}


def test_names_are_initials_unless_the_clinic_asks_for_full_names():
    assert patient_label(PATIENT, "initials") == "J. O."
    assert patient_label(PATIENT, "full") == "Jordan Avery Okafor"
    assert patient_label({"name": [{"family": "Lee", "given": ["sam"]}]}, "full") == "sam Lee"
    assert patient_label({"name": [{"family": "Lee"}]}, "initials") == "L."
    assert patient_label({"resourceType": "Patient"}, "initials") is None  # no name: "Name not available"
    assert patient_label({"name": ["not a name"]}, "initials") is None


def test_the_defaults_are_the_clinical_roles_a_refresh_of_15_s_and_initials():
    settings = load_settings(BoardSettings, "DOCUMENTATION_BOARD_", {})
    assert settings.role_codes == DEFAULT_ROLE_CODES and settings.scopes == ()
    assert (settings.refresh_s, settings.patient_names) == (15, "initials")


@pytest.mark.parametrize("variable, value", [
    ("DOCUMENTATION_BOARD_REFRESH_S", "2"), ("DOCUMENTATION_BOARD_REFRESH_S", "301"),
    ("DOCUMENTATION_BOARD_PATIENT_NAMES", "surnames"), ("DOCUMENTATION_BOARD_ROLE_CODES", "nurse"),
    ("DOCUMENTATION_BOARD_SCOPES", "user/ketalink board"),
])
def test_a_bad_setting_stops_the_start(variable, value):
    with pytest.raises(SettingsError, match=variable.removeprefix("DOCUMENTATION_BOARD_").lower()):
        load_settings(BoardSettings, "DOCUMENTATION_BOARD_", {variable: value})


def test_nobody_at_all_may_not_be_the_setting():
    with pytest.raises(ValueError, match="nobody"):
        BoardSettings(role_codes=(), scopes=()).validate()
    BoardSettings(role_codes=(), scopes=("user/ketalink.board",)).validate()
