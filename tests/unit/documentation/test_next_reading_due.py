"""The next vital-signs reading a nurse should take (the status strip and the suite board show it): the same due
times as the flowsheet's due and missed readings, never a second schedule."""
from services.documentation.domain import session as s
from services.documentation.domain.schedule import next_vital_reading_due
from services.documentation.domain.settings import SessionSettings

from .builders import SETTINGS, at, discharged, infusing, pre_checked, reading, recovering


def test_nothing_is_next_before_the_infusion_starts_or_after_the_session_ended():
    assert next_vital_reading_due(pre_checked(), at(9, 0), SETTINGS) is None
    assert next_vital_reading_due(discharged(), at(13), SETTINGS) is None


def test_the_next_due_time_from_the_start_every_interval():
    session = infusing()  # started 09:10 → due 09:25, 09:40, 09:55 ...
    assert next_vital_reading_due(session, at(9, 11), SETTINGS) == at(9, 25)
    assert next_vital_reading_due(session, at(9, 24), SETTINGS) == at(9, 25)


def test_a_reading_due_now_and_not_taken_is_next_until_its_grace_passes():
    session = infusing()
    assert next_vital_reading_due(session, at(9, 29), SETTINGS) == at(9, 25)  # due, 4 min past: still next
    assert next_vital_reading_due(session, at(9, 31), SETTINGS) == at(9, 40)  # missed: the flowsheet says so


def test_a_reading_taken_early_within_the_grace_covers_the_coming_due_time():
    session = s.record_vitals(infusing(), reading("a", at(9, 21)), SETTINGS)  # counts for 09:25
    assert next_vital_reading_due(session, at(9, 22), SETTINGS) == at(9, 40)
    session = s.record_vitals(infusing(), reading("b", at(9, 18)), SETTINGS)  # 7 min early: does not count
    assert next_vital_reading_due(session, at(9, 19), SETTINGS) == at(9, 25)


def test_recovery_readings_follow_the_end_of_the_infusion_and_their_own_interval():
    session = recovering()  # ended 09:50; readings 09:25, 09:40, 09:55, 10:05, 10:20
    assert next_vital_reading_due(session, at(10, 21), SETTINGS) == at(10, 35)
    settings = SessionSettings(recovery_vitals_interval_min=30)
    assert next_vital_reading_due(session, at(10, 21), settings) == at(10, 50)
