"""Which messages one change of a session produces (``messages.events_for_change``): the same rule for the
HTTP steps and the Kafka handlers."""
from services.documentation.domain import session as s
from services.documentation.domain.flowsheet import AlertAction, AlertActionKind
from services.documentation.domain.vitals import VitalsReading, VitalsSource
from services.documentation.messages import events_for_change
from shared.people import Person, ketalink
from shared.events import event_codes

from .builders import (
    DOCTOR,
    NURSE,
    SETTINGS,
    administration,
    assessment,
    at,
    checked_in,
    infusing,
    make_order,
    pre_checked,
    baseline,
    reading,
    ready_for_discharge,
    recovering,
)

ORDER = make_order()


def summary(before, after):
    """(event code, focus resource types, author) of each event, in order."""
    return [(event.event_code, [r["resourceType"] for r in event.focus], event.author)
            for event in events_for_change(before, after, ORDER)]


def identifier_values(event):
    return [r["identifier"][0]["value"] for r in event.focus]


def test_check_in_announces_the_visit():
    scheduled = s.create_session(ORDER, 1)
    assert summary(scheduled, checked_in()) == [(event_codes.SESSION_STARTED, ["Encounter"], NURSE)]


def test_a_pre_infusion_check_sends_its_reading_as_vitals():
    before, after = checked_in(), pre_checked()
    assert summary(before, after) == [(event_codes.VITALS_RECORDED, ["Observation"] * 5, NURSE)]  # BP HR SpO2 RR RASS
    (event,) = events_for_change(before, after, ORDER)
    assert identifier_values(event) == ["ord-1-1/pre-1/bp", "ord-1-1/pre-1/hr", "ord-1-1/pre-1/spo2",
                                        "ord-1-1/pre-1/rr", "ord-1-1/pre-1/rass"]


def test_a_recheck_sends_only_the_new_reading():
    first = pre_checked()
    recheck = s.record_pre_check(first, ORDER, baseline("pre-2", at(9, 8)), first.pre_checks[0].confirmations, 80.0,
                                 SETTINGS, NURSE, at(9, 9))
    (event,) = events_for_change(first, recheck, ORDER)
    assert event.event_code == event_codes.VITALS_RECORDED
    assert {value.split("/")[1] for value in identifier_values(event)} == {"pre-2"}


def test_the_infusion_start_announces_the_visit_again_with_the_procedure():
    assert summary(pre_checked(), infusing()) == [(event_codes.SESSION_STARTED, ["Encounter", "Procedure"], NURSE)]


def test_a_flowsheet_reading_is_vitals_and_one_crossing_a_threshold_raises_an_alert_too():
    before = infusing()
    normal = s.record_vitals(before, reading("r-0925", at(9, 25), 138, 88, 84), SETTINGS)
    assert summary(before, normal) == [(event_codes.VITALS_RECORDED, ["Observation"] * 3, NURSE)]
    high = s.record_vitals(before, reading("r-0940", at(9, 40), 184, 112, 90), SETTINGS)
    assert summary(before, high) == [
        (event_codes.VITALS_RECORDED, ["Observation"] * 3, NURSE),
        (event_codes.ALERT_RAISED, ["Flag"] + ["Observation"] * 3, None),
    ]


def test_an_ehr_reading_is_not_sent_back_but_the_alert_it_raises_is():
    device = VitalsReading("ehr-7", at(9, 25), Person(None, "EHR"), systolic_mmhg=186, diastolic_mmhg=100,
                           heart_rate_per_min=88,
                           source=VitalsSource.EHR, ehr_observation_ids=("7", "8"))
    before = infusing()
    assert summary(before, s.record_vitals(before, device, SETTINGS)) == [(event_codes.ALERT_RAISED, ["Flag"], None)]


def test_an_action_on_an_alert_sends_nothing_until_the_session_ends():
    alerted = s.record_vitals(infusing(), reading("r-0940", at(9, 40), 184, 112, 90), SETTINGS)
    acted = s.record_action(alerted, "r-0940-alert", AlertAction(AlertActionKind.RATE_REDUCED, DOCTOR, at(9, 41),
                                                                                      rate_ml_per_h=50.0))
    assert acted != alerted
    assert summary(alerted, acted) == []


def test_the_end_of_the_infusion_alone_sends_nothing():
    infused = s.record_vitals(infusing(), reading("r-0925", at(9, 25)), SETTINGS)
    assert summary(infused, s.end_infusion(infused, NURSE, at(9, 50))) == []


def test_discharge_completes_the_session_with_everything_recorded_by_whoever_discharged():
    ready = ready_for_discharge()
    discharged = s.discharge(ready, assessment(), SETTINGS, DOCTOR, at(10, 25))
    ((code, types, author),) = summary(ready, discharged)
    assert (code, author) == (event_codes.SESSION_COMPLETED, DOCTOR)
    assert types[:3] == ["Encounter", "Procedure", "MedicationAdministration"]


def test_documentation_added_after_an_abort_completes_the_session_again():
    aborted = s.abort(recovering(), "patient asked to leave", NURSE, at(10, 10))
    assert [code for code, _types, _author in summary(recovering(), aborted)] == [event_codes.SESSION_COMPLETED]
    documented = s.record_administration(aborted, ORDER, administration(), SETTINGS)
    ((code, types, author),) = summary(aborted, documented)
    assert (code, author) == (event_codes.SESSION_COMPLETED, NURSE)  # the last step's author: the abort
    assert "MedicationAdministration" in types
    assert summary(documented, documented) == []


def test_a_deferred_visit_is_completed_but_a_cancelled_session_was_never_in_the_ehr():
    deferred = s.defer(checked_in(), "patient unwell", NURSE, at(9, 5))
    assert summary(checked_in(), deferred) == [(event_codes.SESSION_COMPLETED, ["Encounter", "Procedure"], NURSE)]
    scheduled = s.create_session(ORDER, 2)
    assert summary(scheduled, s.cancel(scheduled, "order cancelled", ketalink("Ketalink orders service"), at(8))) == []


def test_no_change_no_message():
    session = recovering()
    assert events_for_change(session, session, ORDER) == []
