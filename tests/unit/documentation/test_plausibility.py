"""Issue 13 defect 24 (documentation): impossible clinical values and times are refused, naming the field, before
anything is stored or sent — on the flowsheet, at the pre-check, in events and adverse events, and for readings
arriving from the EHR over Kafka."""
from datetime import datetime, timedelta, timezone

import pytest

from services.documentation.domain import session as s
from services.documentation.domain.adverse_events import AdverseEventKind, AdverseEventOutcome, AdverseEventRecord
from services.documentation.domain.adverse_events import Severity
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.flowsheet import FlowsheetEvent
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.vitals import VitalsReading
from services.documentation.translators.observation_vitals_in import vitals_from_observations
from services.documentation.translators.observation_vitals_out import vitals_observations
from shared.clock import ClinicalClock

from .builders import NURSE, SETTINGS, at, checked_in, confirmations, infusing, make_order, baseline, reading


@pytest.mark.parametrize(
    "vitals, field",
    [
        ({"spo2": 5e-324}, "spo2_percent"),
        ({"spo2": 49.9}, "spo2_percent"),
        ({"heart_rate": 19}, "heart_rate_per_min"),
        ({"heart_rate": 251}, "heart_rate_per_min"),
        ({"systolic": 39, "diastolic": 20}, "systolic_mmhg"),
        ({"systolic": 301, "diastolic": 120}, "systolic_mmhg"),
        ({"systolic": 120, "diastolic": 19}, "diastolic_mmhg"),
        ({"respiratory_rate_per_min": 1}, "respiratory_rate_per_min"),
        ({"respiratory_rate_per_min": 61}, "respiratory_rate_per_min"),
    ],
)
def test_an_implausible_value_is_refused_on_the_flowsheet_naming_the_field(vitals, field):
    session = infusing()
    with pytest.raises(DocumentationInputError) as refused:
        s.record_vitals(session, reading("r-0925", at(9, 25), **vitals), SETTINGS)
    assert refused.value.field == field
    assert "not a plausible value" in refused.value.message


@pytest.mark.parametrize(
    "vitals",
    [{"spo2": 50.0}, {"heart_rate": 20}, {"heart_rate": 250}, {"systolic": 40, "diastolic": 20},
     {"systolic": 300, "diastolic": 200}, {"respiratory_rate_per_min": 2}, {"respiratory_rate_per_min": 60}],
)
def test_values_at_the_plausible_bounds_are_charted_and_alert(vitals):
    session = s.record_vitals(infusing(), reading("r-0925", at(9, 25), **vitals), SETTINGS)
    assert session.reading("r-0925") is not None
    assert session.open_alerts  # every bound lies beyond an alert threshold


def test_the_plausible_ranges_are_settings():
    settings = SessionSettings(plausible_spo2_min_percent=40.0)
    session = s.record_vitals(infusing(), reading("r-0925", at(9, 25), spo2=45.0), settings)
    assert session.reading("r-0925").spo2_percent == 45.0


def test_an_implausible_pre_check_reading_is_refused():
    order = make_order()
    with pytest.raises(DocumentationInputError) as refused:
        s.record_pre_check(checked_in(order), order, baseline("pre-1", at(9, 5), heart_rate=5), confirmations(),
                           80.0, SETTINGS, NURSE, at(9, 6))
    assert refused.value.field == "reading.heart_rate_per_min"


@pytest.mark.parametrize("year", [1, 1900, 1970])
def test_vitals_dated_long_before_the_session_are_refused(year):
    moment = datetime(year, 3, 2, 9, 25, tzinfo=timezone.utc)
    with pytest.raises(DocumentationInputError) as refused:
        s.record_vitals(infusing(), reading("r-old", moment), SETTINGS)
    assert refused.value.field == "measured_at"


def test_the_margin_before_check_in_is_a_setting():
    before_check_in = at(9, 0) - timedelta(minutes=59)
    assert s.record_vitals(infusing(), reading("r-wait", before_check_in), SETTINGS).reading("r-wait")
    with pytest.raises(DocumentationInputError):
        s.record_vitals(infusing(), reading("r-wait", before_check_in), SessionSettings(clinical_time_margin_min=30))


def test_events_adverse_events_and_pre_checks_dated_before_the_session_are_refused():
    old = datetime(1970, 1, 1, tzinfo=timezone.utc)
    session = infusing()
    with pytest.raises(DocumentationInputError, match="occurred_at"):
        s.record_event(session, FlowsheetEvent("e-1", old, NURSE, "nausea"), SETTINGS)
    event = AdverseEventRecord("ae-1", AdverseEventKind.NAUSEA, Severity.MILD, AdverseEventOutcome.RESOLVED, old,
                               NURSE)
    with pytest.raises(DocumentationInputError, match="onset_at"):
        s.record_adverse_event(session, event, SETTINGS)
    order = make_order()
    with pytest.raises(DocumentationInputError, match="^at"):
        s.record_pre_check(checked_in(order), order, baseline("pre-1", old), confirmations(), 80.0, SETTINGS, NURSE,
                           old)


def test_a_reading_from_kafka_with_an_impossible_value_or_a_future_time_is_refused():
    observations = vitals_observations("ord-1-1", "pat-42", reading("r-1", at(9, 25), spo2=97.0))
    spo2 = next(o for o in observations if o["code"]["coding"][0]["code"] == "59408-5")
    spo2["valueQuantity"]["value"] = 5e-324
    inbound = vitals_from_observations(observations)
    with pytest.raises(DocumentationInputError, match="spo2_percent"):
        s.record_vitals(infusing(), inbound.reading, SETTINGS)
    now = at(9, 25)  # the service's clock, as on_ehr_vitals checks the reading's time
    clock = ClinicalClock(timedelta(seconds=120), now=lambda: now, error=DocumentationInputError)
    clock.check(now + timedelta(seconds=120), "Observation.effectiveDateTime")
    with pytest.raises(DocumentationInputError, match="in the future"):
        clock.check(now + timedelta(seconds=121), "Observation.effectiveDateTime")


def test_rass_travels_to_the_ehr_and_back():
    with_rass = VitalsReading("r-1", at(9, 25), NURSE, heart_rate_per_min=80, rass_score=-2)
    observations = vitals_observations("ord-1-1", "pat-42", with_rass)
    rass = observations[-1]
    assert (rass["valueInteger"], rass["category"][0]["coding"][0]["code"]) == (-2, "survey")
    assert vitals_from_observations(observations).reading == with_rass
