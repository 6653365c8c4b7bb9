from services.documentation.domain import session as s
from services.documentation.domain.cadss import CadssAssessment, CadssForm
from services.documentation.domain.schedule import DueState, Phase, due_cadss, due_vital_readings
from services.documentation.domain.settings import SessionSettings

from .builders import NURSE, SETTINGS, at, discharged, infusing, pre_checked, reading, recovering


def test_due_times_every_interval_from_start_with_grace_either_side():
    session = infusing()  # started 09:10 → due 09:25, 09:40, 09:55 ...
    session = s.record_vitals(session, reading("a", at(9, 21)), SETTINGS)  # 4 min early: counts for 09:25
    session = s.record_vitals(session, reading("b", at(9, 46)), SETTINGS)  # 6 min late: does not count for 09:40
    due = due_vital_readings(session, at(9, 57), SETTINGS)
    assert [(d.due_at, d.state, d.phase) for d in due] == [
        (at(9, 40), DueState.MISSED, Phase.INFUSION),
        (at(9, 55), DueState.DUE, Phase.INFUSION),
    ]


def test_grace_edge_counts_and_a_due_time_turns_missed_after_the_grace():
    session = s.record_vitals(infusing(), reading("a", at(9, 30)), SETTINGS)  # exactly 5 min after 09:25
    assert due_vital_readings(session, at(9, 35), SETTINGS) == []
    assert [d.state for d in due_vital_readings(infusing(), at(9, 30), SETTINGS)] == [DueState.DUE]
    assert [d.state for d in due_vital_readings(infusing(), at(9, 31), SETTINGS)] == [DueState.MISSED]


def test_nothing_is_due_before_the_infusion_starts():
    assert due_vital_readings(pre_checked(), at(12), SETTINGS) == []
    assert due_vital_readings(infusing(), at(9, 24), SETTINGS) == []


def test_recovery_readings_fall_due_from_the_end_of_the_infusion():
    session = recovering()  # ended 09:50; readings 09:25, 09:40, 09:55, 10:05, 10:20
    assert due_vital_readings(session, at(10, 34), SETTINGS) == []  # 10:05 and 10:20 were taken
    due = due_vital_readings(session, at(10, 40), SETTINGS)
    assert [(d.due_at, d.state, d.phase) for d in due] == [(at(10, 35), DueState.DUE, Phase.RECOVERY)]
    due = due_vital_readings(session, at(10, 41), SETTINGS)
    assert [(d.due_at, d.state, d.phase) for d in due] == [(at(10, 35), DueState.MISSED, Phase.RECOVERY)]


def test_recovery_interval_is_its_own_setting():
    settings = SessionSettings(recovery_vitals_interval_min=30)
    session = recovering()
    assert due_vital_readings(session, at(10, 40), settings) == []  # due 10:20 (reading at 10:20), next 10:50


def test_nothing_falls_due_after_the_session_ended():
    session = discharged()  # discharged 10:25
    assert due_vital_readings(session, at(13), SETTINGS) == []


def test_cadss_timepoints_fall_due_and_clear_when_rated():
    session = infusing()
    assert due_cadss(session, at(9, 49), SETTINGS) == []
    (due,) = due_cadss(session, at(9, 50), SETTINGS)
    assert (due.label, due.due_at, due.scheduled_minute) == ("40 min after start", at(9, 50), 40)
    rated = s.record_cadss(
        session,
        CadssAssessment("c1", CadssForm.SHORT, (1, 1, 0, 2, 0, 1), at(9, 51), NURSE, scheduled_minute=40),
        SETTINGS,
    )
    assert due_cadss(rated, at(9, 55), SETTINGS) == []


def test_end_of_recovery_cadss_is_due_after_the_minimum_observation():
    session = s.record_cadss(
        recovering(),
        CadssAssessment("c1", CadssForm.SHORT, (1, 1, 0, 2, 0, 1), at(9, 50), NURSE, scheduled_minute=40),
        SETTINGS,
    )
    assert due_cadss(session, at(10, 19), SETTINGS) == []
    (due,) = due_cadss(session, at(10, 20), SETTINGS)
    assert due.end_of_recovery and due.due_at == at(10, 20)
    assert due_cadss(session, at(10, 20), SessionSettings(cadss_at_end_of_recovery=False)) == []
