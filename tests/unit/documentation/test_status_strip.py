"""The session page's status strip in words and times (pure: from the session view as the API answers it), the
rule that a reading at the chair has BP, heart rate and SpO2 together, and the error summary's words for fields."""
from datetime import timedelta

import pytest

from services.documentation.domain import session as s
from services.documentation.domain.vitals import missing_chair_measures
from services.documentation.presenters import session_view
from services.documentation.ui.forms import field_labels
from services.documentation.ui.status_strip import StatusStripSettings, countdown_text, strip_view
from shared.config import SettingsError, load_settings

from .builders import SETTINGS, at, infusing, make_order, reading, recovering

ZONE = at(9).tzinfo  # the builders' clinic zone: the strip writes times in it


def _strip(session, now):
    order = make_order()
    return strip_view(session_view(session, order, now, SETTINGS), ZONE, SETTINGS.min_recovery_observation_min)


def test_while_infusing_the_strip_shows_elapsed_planned_end_and_the_next_reading_with_its_countdown():
    strip = _strip(infusing(), at(9, 22))  # started 09:10; the order's infusion lasts duration_min
    assert strip["status_label"] == "Infusing" and strip["elapsed_label"] == "Infusing for 12 min"
    planned = at(9, 10) + timedelta(minutes=make_order().duration_min)
    assert (strip["planned_end_label"], strip["planned_end"]) == ("Planned end", planned.strftime("%H:%M"))
    assert (strip["next_reading_due"], strip["next_reading_in_s"]) == ("09:25", 180)
    assert (strip["readings_missed"], strip["open_alerts"], strip["cadss_due"]) == (0, 0, [])


def test_a_missed_reading_an_open_alert_and_cadss_due_are_counted():
    session = s.record_vitals(infusing(), reading("hi", at(9, 26), 186, 104, 90), SETTINGS)  # crosses the alert
    strip = _strip(session, at(9, 51))  # 09:40 missed; 09:55 next; CADSS 40 min after the start due
    assert strip["readings_missed"] == 1 and strip["last_missed"] == "09:40"
    assert strip["open_alerts"] == 1 and strip["cadss_due"] == ["40 min after start"]
    assert strip["next_reading_due"] == "09:55"


def test_in_recovery_the_strip_counts_from_the_end_and_shows_the_earliest_discharge():
    strip = _strip(recovering(), at(10, 21))  # ended 09:50
    assert strip["elapsed_label"] == "In recovery for 31 min"
    end = at(9, 50) + timedelta(minutes=SETTINGS.min_recovery_observation_min)
    assert (strip["planned_end_label"], strip["planned_end"]) == ("Discharge from", end.strftime("%H:%M"))
    assert strip["next_reading_due"] == "10:35"


def test_the_version_changes_when_anything_is_charted():
    before = _strip(infusing(), at(9, 22))["version"]
    after = _strip(s.record_vitals(infusing(), reading("a", at(9, 22)), SETTINGS), at(9, 22))["version"]
    assert before != after


def test_countdown_words():
    assert [countdown_text(v) for v in (None, 420, 61, 1, 0, -59, -60, -300)] == [
        "", "in 7 min", "in 2 min", "in 1 min", "due now", "due now", "due now, 1 min overdue",
        "due now, 5 min overdue"]


def test_a_reading_at_the_chair_needs_bp_heart_rate_and_spo2_together():
    full = {"systolic_mmhg": "120", "diastolic_mmhg": "80", "heart_rate_per_min": "70", "spo2_percent": "98"}
    assert missing_chair_measures(full) == []
    assert missing_chair_measures({**full, "spo2_percent": None, "heart_rate_per_min": ""}) == [
        "heart_rate_per_min", "spo2_percent"]
    assert missing_chair_measures({"rass_score": "0"}) == list(full)


def test_the_error_summary_names_fields_by_their_label():
    labels = field_labels(["vitals.diastolic_mmhg", "reading.diastolic_mmhg", "vitals.at", "end.at", "", "odd.x"])
    assert labels == {"vitals.diastolic_mmhg": "Diastolic (mmHg)", "reading.diastolic_mmhg": "Diastolic (mmHg)",
                      "vitals.at": "Measured at", "end.at": "Pump stop time"}


@pytest.mark.parametrize("value", ["4", "121", "0", "fifteen"])
def test_a_strip_refresh_outside_5_to_120_seconds_stops_the_start(value):
    with pytest.raises(SettingsError, match="(?i)refresh_s"):
        load_settings(StatusStripSettings, "DOCUMENTATION_STATUS_STRIP_",
                      {"DOCUMENTATION_STATUS_STRIP_REFRESH_S": value})


@pytest.mark.parametrize(("env", "expected"), [({}, 15), ({"DOCUMENTATION_STATUS_STRIP_REFRESH_S": "5"}, 5),
                                               ({"DOCUMENTATION_STATUS_STRIP_REFRESH_S": "120"}, 120)])
def test_the_strip_refresh_is_15_s_unless_the_clinic_sets_5_to_120(env, expected):
    assert load_settings(StatusStripSettings, "DOCUMENTATION_STATUS_STRIP_", env).refresh_s == expected
