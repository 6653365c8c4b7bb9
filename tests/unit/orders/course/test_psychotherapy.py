"""Psychotherapy integration: referral, booking in the window after an infusion (outside it only with a reason),
attendance recorded once, all on the course."""
from datetime import timedelta

import pytest

from services.orders.course.domain.errors import CourseInputError, CourseStateError
from services.orders.course.domain.psychotherapy import close_referral, record_attendance, refer, schedule_session
from services.orders.course.domain.therapy import Attendance, ReferralStatus, TherapyKind

from tests.unit.orders.course.builders import CLINICIAN, START, give, infusion_time, new_course, settings

HOUR = timedelta(hours=1)


def referred(kind=TherapyKind.INTEGRATION, infusions=(1, 2)):
    course = give(new_course(), list(infusions))
    return refer(course, "ref-1", kind, CLINICIAN, START, "integration after each infusion",
                 performer="Sam Therapist, LCSW", sessions_requested=6)


def test_a_referral_is_kept_on_the_course():
    course = referred()
    (referral,) = course.referrals
    assert (referral.kind, referral.status, referral.performer, referral.sessions_requested) == (
        TherapyKind.INTEGRATION, ReferralStatus.ACTIVE, "Sam Therapist, LCSW", 6)
    with pytest.raises(CourseInputError) as error:
        refer(course, "ref-1", TherapyKind.INTEGRATION, CLINICIAN, START, "again")
    assert error.value.field == "referral_id"
    with pytest.raises(CourseInputError) as error:
        refer(course, "ref-2", TherapyKind.PSYCHOTHERAPY, CLINICIAN, START, "weekly", sessions_requested=0)
    assert error.value.field == "sessions_requested"


@pytest.mark.parametrize("hours_after", [24, 48, 72])
def test_an_integration_session_in_the_window_after_its_infusion(hours_after):
    course = schedule_session(referred(), "ts-1", "ref-1", infusion_time(1) + hours_after * HOUR, settings(),
                              after_infusion_number=1)
    (session,) = course.therapy_sessions
    assert (session.kind, session.after_infusion_number, session.attendance) == (
        TherapyKind.INTEGRATION, 1, Attendance.SCHEDULED)


@pytest.mark.parametrize("hours_after", [23, 73])
def test_outside_the_window_only_with_a_reason(hours_after):
    at = infusion_time(1) + hours_after * HOUR
    with pytest.raises(CourseInputError, match="outside the integration window") as error:
        schedule_session(referred(), "ts-1", "ref-1", at, settings(), after_infusion_number=1)
    assert error.value.field == "scheduled_start"
    course = schedule_session(referred(), "ts-1", "ref-1", at, settings(), after_infusion_number=1,
                              window_exception_reason="therapist away until Monday")
    assert course.therapy_sessions[0].window_exception_reason == "therapist away until Monday"


def test_the_clinic_sets_the_window():
    narrow = settings(integration_window_end_hours=48)
    with pytest.raises(CourseInputError):
        schedule_session(referred(), "ts-1", "ref-1", infusion_time(1) + 60 * HOUR, narrow, after_infusion_number=1)


def test_an_integration_session_names_an_infusion_that_was_given():
    with pytest.raises(CourseInputError) as error:
        schedule_session(referred(), "ts-1", "ref-1", START + 30 * HOUR, settings())
    assert error.value.field == "after_infusion_number"
    with pytest.raises(CourseInputError, match="has not been given"):
        schedule_session(referred(), "ts-1", "ref-1", START + 30 * HOUR, settings(), after_infusion_number=5)


def test_psychotherapy_needs_no_infusion_and_a_session_can_be_rebooked_until_it_happens():
    course = referred(TherapyKind.PSYCHOTHERAPY)
    course = schedule_session(course, "ts-1", "ref-1", START + 200 * HOUR, settings())
    course = schedule_session(course, "ts-1", "ref-1", START + 220 * HOUR, settings())
    assert [s.scheduled_start for s in course.therapy_sessions] == [START + 220 * HOUR]


def test_attendance_is_recorded_once():
    course = schedule_session(referred(), "ts-1", "ref-1", infusion_time(1) + 30 * HOUR, settings(),
                              after_infusion_number=1)
    with pytest.raises(CourseInputError) as error:
        record_attendance(course, "ts-1", Attendance.ATTENDED, CLINICIAN, infusion_time(1) + 29 * HOUR)
    assert error.value.field == "recorded_at"
    done = record_attendance(course, "ts-1", Attendance.ATTENDED, CLINICIAN, infusion_time(1) + 31 * HOUR)
    assert done.therapy_sessions[0].attendance is Attendance.ATTENDED
    with pytest.raises(CourseStateError):
        record_attendance(done, "ts-1", Attendance.MISSED, CLINICIAN, infusion_time(1) + 32 * HOUR)
    with pytest.raises(CourseStateError):
        schedule_session(done, "ts-1", "ref-1", infusion_time(1) + 40 * HOUR, settings(), after_infusion_number=1)
    missed = record_attendance(course, "ts-1", Attendance.MISSED, CLINICIAN, infusion_time(1) + 40 * HOUR)
    assert missed.therapy_sessions[0].attendance is Attendance.MISSED
    with pytest.raises(CourseInputError):
        record_attendance(course, "ts-1", Attendance.SCHEDULED, CLINICIAN, infusion_time(1) + 40 * HOUR)


def test_a_closed_referral_takes_no_bookings():
    course = close_referral(referred(), "ref-1", ReferralStatus.COMPLETED)
    assert course.referrals[0].status is ReferralStatus.COMPLETED
    with pytest.raises(CourseStateError):
        schedule_session(course, "ts-1", "ref-1", infusion_time(1) + 30 * HOUR, settings(), after_infusion_number=1)
    with pytest.raises(CourseStateError):
        close_referral(course, "ref-1", ReferralStatus.REVOKED)
    with pytest.raises(CourseInputError):
        close_referral(referred(), "ref-1", ReferralStatus.ACTIVE)
