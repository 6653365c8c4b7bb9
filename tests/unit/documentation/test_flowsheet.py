import pytest

from services.documentation.domain import session as s
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.flowsheet import AlertAction, AlertActionKind, FlowsheetEvent, alert_crossings
from services.documentation.domain.vitals import VitalsReading
from shared.people import Person
from shared.fhir.codes import KETALINK_LOCAL

from .builders import DOCTOR, NURSE, SETTINGS, at, infusing, reading


@pytest.mark.parametrize(
    "vitals, crossings",
    [
        ({"systolic": 179, "diastolic": 109, "heart_rate": 129, "spo2": 92.0}, ()),
        ({"systolic": 180}, ("systolic 180 mmHg ≥ 180 mmHg",)),
        ({"diastolic": 110, "systolic": 160}, ("diastolic 110 mmHg ≥ 110 mmHg",)),
        ({"heart_rate": 130}, ("heart rate 130/min ≥ 130/min",)),
        ({"spo2": 91.5}, ("SpO2 91.5% < 92%",)),
        (
            {"systolic": 186, "diastolic": 112, "heart_rate": 134},
            ("systolic 186 mmHg ≥ 180 mmHg", "diastolic 112 mmHg ≥ 110 mmHg", "heart rate 134/min ≥ 130/min"),
        ),
    ],
)
def test_alert_thresholds(vitals, crossings):
    assert alert_crossings(reading("r", at(9, 40), **vitals), SETTINGS) == crossings


def test_a_crossing_reading_opens_one_alert_that_an_action_closes():
    session = s.record_vitals(infusing(), reading("r-0940", at(9, 40), 184, 104, 96), SETTINGS)
    (alert,) = session.alerts
    assert alert.alert_id == "r-0940-alert" and alert.is_open and alert.raised_at == at(9, 40)
    assert session.open_alerts == (alert,)
    assert session.alert_for("r-0940") == alert
    assert s.record_vitals(session, reading("r-0955", at(9, 55)), SETTINGS).alert_for("r-0955") is None
    action = AlertAction(AlertActionKind.RATE_REDUCED, DOCTOR, at(9, 42), "BP rechecked", rate_ml_per_h=50.0)
    answered = s.record_action(session, "r-0940-alert", action)
    assert answered.open_alerts == ()
    assert answered.alerts[0].action == action
    assert action.describe() == "rate reduced to 50 mL/h: BP rechecked"
    with pytest.raises(TransitionNotAllowed, match="already has an action"):
        s.record_action(answered, "r-0940-alert", action)


def test_a_partial_device_reading_is_checked_on_what_it_has():
    hr_only = VitalsReading("dev-1", at(9, 30), Person(None, "pump monitor"), heart_rate_per_min=131)
    session = s.record_vitals(infusing(), hr_only, SETTINGS)
    assert session.alerts[0].crossings == ("heart rate 131/min ≥ 130/min",)


def test_action_must_answer_a_known_alert_after_it_was_raised():
    session = s.record_vitals(infusing(), reading("r-0940", at(9, 40), 184, 104), SETTINGS)
    with pytest.raises(DocumentationInputError) as error:
        s.record_action(session, "nope", AlertAction(AlertActionKind.PAUSED, NURSE, at(9, 41)))
    assert error.value.field == "alert_id"
    with pytest.raises(DocumentationInputError) as error:
        s.record_action(session, "r-0940-alert", AlertAction(AlertActionKind.PAUSED, NURSE, at(9, 39)))
    assert error.value.field == "action.taken_at"


@pytest.mark.parametrize("kind", [AlertActionKind.OTHER, AlertActionKind.OBSERVED])
def test_observation_and_other_actions_must_say_what(kind):
    with pytest.raises(DocumentationInputError) as error:
        AlertAction(kind, DOCTOR, at(9, 42))
    assert error.value.field == "detail"
    assert AlertAction(kind, DOCTOR, at(9, 42), "labetalol 10 mg IV").describe().endswith("labetalol 10 mg IV")


def test_redelivered_reading_changes_nothing_but_a_conflicting_one_is_refused():
    first = s.record_vitals(infusing(), reading("r-0940", at(9, 40), 184, 104), SETTINGS)
    assert s.record_vitals(first, reading("r-0940", at(9, 40), 184, 104), SETTINGS) is first
    with pytest.raises(DocumentationInputError) as error:
        s.record_vitals(first, reading("r-0940", at(9, 40), 150, 90), SETTINGS)
    assert error.value.field == "reading.reading_id"


def test_readings_are_kept_in_time_order():
    session = infusing()
    session = s.record_vitals(session, reading("late", at(9, 40)), SETTINGS)
    session = s.record_vitals(session, reading("early", at(9, 25)), SETTINGS)
    assert [r.reading_id for r in session.readings] == ["early", "late"]


def test_reading_rules():
    with pytest.raises(DocumentationInputError) as error:
        VitalsReading("r", at(9), NURSE)
    assert "at least one vital sign" in error.value.message
    with pytest.raises(DocumentationInputError) as error:
        VitalsReading("r", at(9), NURSE, systolic_mmhg=120)
    assert error.value.field == "diastolic_mmhg"
    with pytest.raises(DocumentationInputError) as error:
        VitalsReading("r", at(9), NURSE, systolic_mmhg=80, diastolic_mmhg=120)
    assert error.value.field == "diastolic_mmhg"
    with pytest.raises(DocumentationInputError) as error:
        VitalsReading("r", at(9), NURSE, heart_rate_per_min=-3)
    assert error.value.field == "heart_rate_per_min"


def test_free_text_and_coded_events_are_recorded_and_updated_by_id():
    session = infusing()
    text_event = FlowsheetEvent("ev-1", at(9, 20), NURSE, "Patient reports floating sensation, reassured")
    coded = FlowsheetEvent("ev-2", at(9, 30), NURSE, "", KETALINK_LOCAL, "eyes-mask-on", "Eye mask applied")
    session = s.record_event(s.record_event(session, text_event), coded)
    assert [e.event_id for e in session.events] == ["ev-1", "ev-2"]
    corrected = FlowsheetEvent("ev-1", at(9, 20), NURSE, "Floating sensation; music on, reassured")
    assert s.record_event(session, corrected).events[0].text.startswith("Floating")
    with pytest.raises(DocumentationInputError) as error:
        FlowsheetEvent("ev-3", at(9, 30), NURSE, "")
    assert error.value.field == "text"
    with pytest.raises(DocumentationInputError) as error:
        FlowsheetEvent("ev-3", at(9, 30), NURSE, "x", code="abc")
    assert error.value.field == "code_system"
