"""Issue 13 defect 8 follow-up: the pre-check holds on respiratory rate and RASS, so by default a check without them
is refused (400 naming the field) instead of clearing the patient without looking at them; the readings required
are a clinic setting that can never drop BP, heart rate or SpO2."""
import pytest

from services.documentation.domain import session as s
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.pre_check import PreCheckOutcome
from services.documentation.domain.settings import PRE_CHECK_READINGS, SessionSettings
from shared.config import SettingsError, load_settings

from .builders import NURSE, SETTINGS, at, checked_in, confirmations, cssrs, make_order, baseline, site_ready


def _pre_check(settings: SessionSettings, **missing):
    order = make_order()
    return s.record_pre_check(checked_in(order), order, baseline("pre-1", at(9, 5), **missing),
                              confirmations(), 80.0, settings, NURSE, at(9, 6), cssrs=cssrs(settings),
                              site_readiness=site_ready(settings))


def test_the_default_pre_check_requires_bp_heart_rate_spo2_respiratory_rate_and_rass():
    assert SETTINGS.pre_check_required_readings == PRE_CHECK_READINGS == (
        "systolic_mmhg", "diastolic_mmhg", "heart_rate_per_min", "spo2_percent", "respiratory_rate_per_min",
        "rass_score",
    )


def test_a_pre_check_without_respiratory_rate_is_refused_naming_the_field():
    with pytest.raises(DocumentationInputError) as refused:
        _pre_check(SETTINGS, respiratory_rate_per_min=None)
    assert refused.value.field == "reading.respiratory_rate_per_min"


def test_a_pre_check_without_rass_is_refused_naming_the_field():
    with pytest.raises(DocumentationInputError) as refused:
        _pre_check(SETTINGS, rass_score=None)
    assert refused.value.field == "reading.rass_score"


def test_a_clinic_that_does_not_require_respiratory_rate_and_rass_accepts_a_check_without_them():
    settings = load_settings(SessionSettings, "DOCUMENTATION_", {
        "DOCUMENTATION_PRE_CHECK_REQUIRED_READINGS": "systolic_mmhg,diastolic_mmhg,heart_rate_per_min,spo2_percent",
    })
    session = _pre_check(settings, respiratory_rate_per_min=None, rass_score=None)
    assert session.latest_pre_check.result.outcome is PreCheckOutcome.CLEARED


@pytest.mark.parametrize("value, message", [
    ("systolic_mmhg,diastolic_mmhg,heart_rate_per_min", "must include \\['spo2_percent'\\]"),
    ("diastolic_mmhg,heart_rate_per_min,spo2_percent,rass_score", "must include \\['systolic_mmhg'\\]"),
    ("systolic_mmhg,diastolic_mmhg,heart_rate_per_min,spo2_percent,temperature", "unknown reading"),
    ("systolic_mmhg,diastolic_mmhg,heart_rate_per_min,spo2_percent,rass_score,rass_score", "repeated"),
])
def test_required_readings_that_would_drop_bp_heart_rate_or_spo2_stop_start_up(value, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(SessionSettings, "DOCUMENTATION_", {"DOCUMENTATION_PRE_CHECK_REQUIRED_READINGS": value})
