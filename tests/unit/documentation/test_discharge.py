import pytest

from services.documentation.domain import session as s
from services.documentation.domain.cadss import CadssNotRated
from services.documentation.domain.discharge import AldreteScore
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.flowsheet import AlertAction, AlertActionKind
from services.documentation.domain.settings import SessionSettings

from .builders import DOCTOR, NURSE, SETTINGS, assessment, at, reading, ready_for_discharge, recovering

ALDRETE_8 = AldreteScore(activity=2, respiration=2, circulation=1, consciousness=2, oxygen_saturation=1)


def failing_of(session, assessed, moment, settings=SETTINGS):
    with pytest.raises(TransitionNotAllowed) as error:
        s.discharge(session, assessed, settings, NURSE, moment)
    return error.value.failing


def test_discharge_when_every_criterion_is_met():
    session = s.discharge(ready_for_discharge(), assessment(), SETTINGS, NURSE, at(10, 25))
    record = session.discharge_record
    assert session.status is s.SessionStatus.DISCHARGED
    assert [(c.name, c.met) for c in record.criteria] == [
        ("observation", True),
        ("vitals-near-baseline", True),
        ("mental-status", True),
        ("aldrete", True),
        ("escort", True),
        ("instructions", True),
    ]
    assert record.criteria[1].detail == (
        "systolic 132 vs baseline 128 mmHg (+4, margin 20); heart rate 78 vs baseline 76/min (+2, margin 20)"
    )
    assert record.override_reason == ""


def test_observation_minimum_is_measured_from_the_infusion_end():
    assert failing_of(ready_for_discharge(), assessment(), at(10, 19)) == (
        "observation: observed 29 min after infusion end (minimum 30)",
    )
    settings = SessionSettings(min_recovery_observation_min=60)
    assert failing_of(ready_for_discharge(), assessment(), at(10, 25), settings)[0].startswith("observation")


@pytest.mark.parametrize(
    "systolic, heart_rate, met",
    [(148, 96, True), (108, 56, True), (149, 76, False), (107, 76, False), (128, 97, False)],
)
def test_latest_recovery_vitals_must_be_within_margin_of_baseline(systolic, heart_rate, met):
    session = s.record_vitals(ready_for_discharge(), reading("r-1030", at(10, 30), systolic, 80, heart_rate), SETTINGS)
    if met:
        assert s.discharge(session, assessment(), SETTINGS, NURSE, at(10, 35)).status is s.SessionStatus.DISCHARGED
    else:
        (failing,) = failing_of(session, assessment(), at(10, 35))
        assert failing.startswith("vitals-near-baseline")


def test_readings_taken_during_the_infusion_do_not_count_for_recovery():
    from .builders import administration, infusing, make_order

    order = make_order()
    session = s.record_vitals(infusing(order), reading("r-0940", at(9, 40)), SETTINGS)
    session = s.end_infusion(session, NURSE, at(9, 50))
    session = s.record_administration(session, order, administration(), SETTINGS)
    session = s.review_given_against_ordered(session, NURSE, at(10, 0), "", SETTINGS)
    for minute, end in [(40, False), (None, True)]:
        session = s.record_cadss_not_rated(
            session, CadssNotRated("asleep", NURSE, at(10, 20), scheduled_minute=minute, end_of_recovery=end), SETTINGS
        )
    assert failing_of(session, assessment(), at(10, 25)) == (
        "vitals-near-baseline: no recovery reading with BP and heart rate",
    )


def test_every_failing_criterion_is_listed():
    failing = failing_of(
        ready_for_discharge(),
        assessment(mental_status_at_baseline=False, escort_present=False, aldrete=ALDRETE_8),
        at(10, 10),
    )
    assert [f.split(":")[0] for f in failing] == ["observation", "mental-status", "aldrete", "escort"]
    assert "modified Aldrete 8/10 (minimum 9)" in failing[2]


def test_aldrete_missing_fails_unless_the_clinic_does_not_use_it():
    assert failing_of(ready_for_discharge(), assessment(aldrete=None), at(10, 25)) == (
        "aldrete: modified Aldrete score not recorded",
    )
    settings = SessionSettings(aldrete_required=False)
    session = s.discharge(ready_for_discharge(), assessment(aldrete=None), settings, NURSE, at(10, 25))
    assert "aldrete" not in [c.name for c in session.discharge_record.criteria]


def test_aldrete_is_the_sum_of_five_items_scored_0_to_2():
    assert ALDRETE_8.total == 8
    with pytest.raises(DocumentationInputError) as error:
        AldreteScore(activity=3, respiration=2, circulation=2, consciousness=2, oxygen_saturation=2)
    assert error.value.field == "activity"


def test_override_discharges_despite_failing_criteria_and_keeps_them():
    session = s.discharge(
        ready_for_discharge(),
        assessment(aldrete=ALDRETE_8),
        SETTINGS,
        DOCTOR,
        at(10, 25),
        override_reason="Aldrete 8 for baseline mobility aid (activity 1 at baseline)",
    )
    record = session.discharge_record
    assert session.status is s.SessionStatus.DISCHARGED
    assert [c.name for c in record.failing] == ["aldrete"]
    assert record.override_reason.startswith("Aldrete 8") and record.discharged_by == DOCTOR


def test_open_alert_blocks_discharge_even_with_an_override():
    session = s.record_vitals(ready_for_discharge(), reading("r-1010", at(10, 10), 182, 100), SETTINGS)
    with pytest.raises(TransitionNotAllowed) as error:
        s.discharge(session, assessment(), SETTINGS, DOCTOR, at(10, 25), override_reason="looks fine")
    assert error.value.failing == ("open alert r-1010-alert: systolic 182 mmHg ≥ 180 mmHg",)
    answered = s.record_action(
        session, "r-1010-alert", AlertAction(AlertActionKind.OBSERVED, DOCTOR, at(10, 12), "recheck 150/90 at 10:12")
    )
    assert s.discharge(answered, assessment(), SETTINGS, DOCTOR, at(10, 25)).status is s.SessionStatus.DISCHARGED


def test_missing_administration_record_blocks_discharge_and_is_listed_with_criteria():
    with pytest.raises(TransitionNotAllowed) as error:
        s.discharge(
            recovering(), assessment(escort_present=False), SETTINGS, DOCTOR, at(10, 25), override_reason="taxi"
        )
    assert error.value.failing == (
        "administration record missing",
        "CADSS 40 min after start not rated: rate it or record why not",
        "CADSS end of recovery not rated: rate it or record why not",
        "escort: no responsible adult to escort the patient",
    )
    assert "cannot be overridden" in error.value.reason
