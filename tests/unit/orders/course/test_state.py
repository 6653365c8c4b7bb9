"""The course's states: induction → response check (a task either way; non-response never silent) → maintenance →
re-evaluation due (by date or relapse) → stopped with the reason; extension and re-induction as documented choices."""
import json
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from services.orders.course.domain.course import (
    acknowledge_alert,
    check_due,
    record_clinical_event,
    continue_maintenance,
    extend_induction,
    record_adverse_event,
    record_infusion,
    record_score,
    reinduce,
    start_course,
    start_maintenance,
    stop_course,
)
from services.orders.course.domain.errors import CourseInputError, CourseStateError
from services.orders.course.domain.goals import GoalStatus
from services.orders.course.domain.measurements import ScoreContext
from services.orders.course.domain.model import (
    SYSTEM_ACTOR,
    AdverseEventSeverity,
    ClinicalEvent,
    ClinicalEventKind,
    CourseAdverseEvent,
    CourseStatus,
    StopReason,
    TaskKind,
    TaskStatus,
    TransitionKind,
    TreatmentCourse,
)
from services.orders.domain.series import SeriesPhase

from tests.unit.orders.course.builders import (
    CLINICIAN,
    START,
    give,
    infusion_time,
    new_course,
    phq9,
    protocol,
    settings,
)

DAY = timedelta(days=1)
DECIDED = infusion_time(6) + 7 * DAY


def responder():
    return give(new_course(), range(1, 7), phq9_totals={1: 20, 3: 14, 5: 9, 6: 8})


def non_responder():
    return give(new_course(), range(1, 7), phq9_totals={1: 20, 3: 17, 6: 15})


def in_maintenance(interval_days=28):
    return start_maintenance(responder(), interval_days, CLINICIAN, DECIDED, settings(), protocol())


def follow_up(course, measurement_id, total, at):
    return record_score(course, phq9(measurement_id, total, at, ScoreContext.FOLLOW_UP), settings(), protocol())


class TestInduction:
    def test_a_new_course_is_in_induction_with_its_goal(self):
        course = new_course()
        assert (course.status, course.induction_infusions_planned, course.series_ids) == (
            CourseStatus.INDUCTION, 6, ("series-1",))
        assert course.goals[0].goal_id == "course-1-remission"
        assert course.transitions[0].kind is TransitionKind.STARTED and course.transitions[0].by == CLINICIAN

    def test_infusions_are_numbered_in_the_order_given(self):
        course = give(new_course(), [1, 3])
        course = record_infusion(course, session_id="session-2", given_at=infusion_time(2), dose_mg=41.0,
                                 settings=settings(), protocol=protocol())
        assert [(i.number, i.session_id) for i in course.infusions] == [
            (1, "session-1"), (2, "session-2"), (3, "session-3")]
        assert all(i.phase is SeriesPhase.INDUCTION for i in course.infusions)

    def test_the_same_session_again_changes_nothing_or_updates_it(self):
        course = give(new_course(), [1])
        again = dict(session_id="session-1", given_at=infusion_time(1), dose_mg=40.0, dose_mg_per_kg=0.5,
                     series_id="series-1", order_id="order-1", settings=settings(), protocol=protocol())
        assert record_infusion(course, **again) is course
        stopped = record_infusion(course, **{**again, "stopped_early": True, "dose_mg": 22.0})
        assert len(stopped.infusions) == 1 and stopped.infusions[0].stopped_early
        assert stopped.infusions[0].dose_mg == 22.0

    @pytest.mark.parametrize("field, value", [("dose_mg", 0), ("dose_mg", float("nan")), ("session_id", " "),
                                              ("given_at", datetime(2026, 11, 23, 9))])
    def test_bad_infusion_facts_are_refused_naming_the_field(self, field, value):
        values = dict(session_id="s", given_at=START, dose_mg=40.0)
        values[field] = value
        with pytest.raises(CourseInputError) as error:
            record_infusion(new_course(), settings=settings(), protocol=protocol(), **values)
        assert error.value.field == field

    def test_a_responder_reaches_the_response_check_with_a_review_task(self):
        course = responder()
        assert course.status is CourseStatus.RESPONSE_CHECK
        (task,) = course.open_tasks
        assert task.kind is TaskKind.RESPONSE_REVIEW
        assert task.due_on == date(2026, 12, 10) + timedelta(days=7)  # last infusion + re-evaluation days
        assert "PHQ-9 20 → 8 (60% drop): response" in task.reason
        transition = course.transitions[-1]
        assert (transition.kind, transition.by) == (TransitionKind.INDUCTION_COMPLETED, SYSTEM_ACTOR)

    def test_non_response_after_induction_opens_a_reevaluation_task(self):
        course = non_responder()
        assert course.status is CourseStatus.RESPONSE_CHECK
        (task,) = course.open_tasks
        assert task.kind is TaskKind.REEVALUATION
        assert task.reason.startswith("No response after 6 induction infusions: PHQ-9 20 → 15 (25% drop)")

    def test_an_undetermined_response_is_not_silent_either(self):
        course = give(new_course(), range(1, 7))  # no PHQ-9 at all
        (task,) = course.open_tasks
        assert task.kind is TaskKind.REEVALUATION
        assert "Response undetermined" in task.reason and "no baseline PHQ-9" in task.reason

    def test_a_score_during_the_response_check_updates_the_task(self):
        course = non_responder()
        course = follow_up(course, "after-induction", 9, infusion_time(6) + 2 * DAY)
        tasks = course.tasks
        assert [(t.kind, t.status) for t in tasks] == [(TaskKind.REEVALUATION, TaskStatus.DONE),
                                                       (TaskKind.RESPONSE_REVIEW, TaskStatus.OPEN)]
        assert tasks[1].due_on == tasks[0].due_on and tasks[0].closed_by == SYSTEM_ACTOR

    def test_the_response_check_follows_the_series_count(self):
        course = give(new_course(induction_infusions=4), range(1, 5))
        assert course.status is CourseStatus.RESPONSE_CHECK


class TestExtension:
    def test_extending_is_a_documented_choice_and_the_check_comes_again_at_the_new_count(self):
        course = extend_induction(non_responder(), 10, "partial response; late responders at 10-12", CLINICIAN,
                                  DECIDED, settings())
        assert (course.status, course.induction_infusions_planned) == (CourseStatus.INDUCTION, 10)
        assert course.open_tasks == () and course.tasks[0].closed_by == CLINICIAN
        assert course.transitions[-1].note == ("Induction extended to 10 infusions (6 given): partial response; "
                                               "late responders at 10-12")
        course = give(course, range(7, 11))
        assert course.status is CourseStatus.RESPONSE_CHECK
        assert sum(1 for t in course.transitions if t.kind is TransitionKind.INDUCTION_COMPLETED) == 2

    @pytest.mark.parametrize("total, reason, field", [
        (10, " ", "reason"), (13, "late responder", "total_infusions"), (6, "late responder", "total_infusions"),
    ])
    def test_an_extension_needs_a_reason_and_a_count_within_the_clinics_limit(self, total, reason, field):
        with pytest.raises(CourseInputError) as error:
            extend_induction(non_responder(), total, reason, CLINICIAN, DECIDED, settings())
        assert error.value.field == field

    def test_no_extension_in_maintenance(self):
        with pytest.raises(CourseStateError):
            extend_induction(in_maintenance(), 10, "more", CLINICIAN, DECIDED, settings())


class TestMaintenance:
    def test_a_responder_starts_maintenance_at_an_interval_with_its_reevaluation_date(self):
        course = in_maintenance(28)
        assert (course.status, course.maintenance_interval_days) == (CourseStatus.MAINTENANCE, 28)
        assert course.reevaluation_due_on == DECIDED.date() + timedelta(days=90)
        assert course.open_tasks == ()
        assert course.transitions[-1].note.startswith("Maintenance every 28 days; re-evaluation due")

    def test_maintenance_infusions_are_marked_so(self):
        course = record_infusion(in_maintenance(), session_id="m-1", given_at=DECIDED + 20 * DAY, dose_mg=40.0,
                                 settings=settings(), protocol=protocol())
        assert course.infusions[-1].phase is SeriesPhase.MAINTENANCE and course.infusions[-1].number == 7

    def test_maintenance_without_a_response_needs_a_reason(self):
        with pytest.raises(CourseInputError) as error:
            start_maintenance(non_responder(), 28, CLINICIAN, DECIDED, settings(), protocol())
        assert error.value.field == "reason" and "PHQ-9 20 → 15" in error.value.message
        course = start_maintenance(non_responder(), 28, CLINICIAN, DECIDED, settings(), protocol(),
                                   reason="patient reports functional gains")
        assert course.status is CourseStatus.MAINTENANCE

    @pytest.mark.parametrize("interval", [6, 91, True])
    def test_the_interval_stays_in_the_clinics_range(self, interval):
        with pytest.raises(CourseInputError) as error:
            start_maintenance(responder(), interval, CLINICIAN, DECIDED, settings(), protocol())
        assert error.value.field == "interval_days"

    def test_maintenance_only_after_the_response_check(self):
        with pytest.raises(CourseStateError, match="only in response-check"):
            start_maintenance(give(new_course(), [1]), 28, CLINICIAN, DECIDED, settings(), protocol())

    def test_reevaluation_falls_due_on_its_date(self):
        course = in_maintenance()
        due_on = course.reevaluation_due_on
        the_day_before = datetime.combine(due_on - DAY, datetime.min.time(), timezone.utc)
        assert check_due(course, the_day_before, protocol()) is course
        course = check_due(course, the_day_before + DAY, protocol())
        assert course.status is CourseStatus.REEVALUATION_DUE
        (task,) = course.open_tasks
        assert (task.kind, task.due_on) == (TaskKind.REEVALUATION, due_on)

    def test_a_loss_of_response_in_maintenance_makes_reevaluation_due_at_once(self):
        course = follow_up(in_maintenance(), "m1", 13, DECIDED + 14 * DAY)
        assert course.status is CourseStatus.MAINTENANCE
        course = follow_up(course, "m2", 14, DECIDED + 28 * DAY)
        assert course.status is CourseStatus.REEVALUATION_DUE
        (task,) = course.open_tasks
        assert task.reason.startswith("Loss of response: PHQ-9 20 → 14")
        assert task.due_on == (DECIDED + 28 * DAY).date()

    def test_after_reevaluation_maintenance_continues_through_a_loss_of_response_only_with_a_reason(self):
        relapsed = follow_up(follow_up(in_maintenance(), "m1", 13, DECIDED + 14 * DAY), "m2", 14, DECIDED + 28 * DAY)
        at = DECIDED + 30 * DAY
        with pytest.raises(CourseInputError) as error:
            continue_maintenance(relapsed, 14, CLINICIAN, at, settings(), protocol())
        assert error.value.field == "reason" and "through a loss of response" in error.value.message
        course = continue_maintenance(relapsed, 14, CLINICIAN, at, settings(), protocol(), reason="shorter interval")
        assert (course.status, course.maintenance_interval_days) == (CourseStatus.MAINTENANCE, 14)
        assert course.reevaluation_due_on == at.date() + timedelta(days=90) and course.open_tasks == ()

    def test_a_relapse_after_remission_in_maintenance_makes_reevaluation_due_and_needs_a_reason_to_continue(self):
        remitted = give(new_course(), range(1, 7), phq9_totals={1: 20, 3: 14, 5: 9, 6: 4})  # PHQ-9 4: remission
        course = start_maintenance(remitted, 28, CLINICIAN, DECIDED, settings(), protocol())
        madrs_at = DECIDED + 14 * DAY
        event = ClinicalEvent("e1", ClinicalEventKind.PSYCHIATRIC_HOSPITALISATION, madrs_at, CLINICIAN)
        clinic = settings()  # PHQ-9 has no relapse score by default: the event alone is the relapse
        course = record_clinical_event(course, event, clinic, protocol())
        assert course.status is CourseStatus.REEVALUATION_DUE
        (task,) = course.open_tasks
        assert task.reason.startswith("Relapse after remission: psychiatric hospitalisation")
        with pytest.raises(CourseInputError) as error:
            continue_maintenance(course, 28, CLINICIAN, madrs_at + DAY, clinic, protocol())
        assert "through a relapse after remission" in error.value.message
        again = record_clinical_event(course, event, clinic, protocol())
        assert again is course  # the same event again changes nothing

    def test_a_clinical_event_needs_its_recorder_and_an_open_course(self):
        event = ClinicalEvent("e1", ClinicalEventKind.SUICIDE_ATTEMPT, DECIDED, " ")
        with pytest.raises(CourseInputError) as error:
            record_clinical_event(in_maintenance(), event, settings(), protocol())
        assert error.value.field == "recorded_by"
        stopped = stop_course(in_maintenance(), StopReason.RELAPSE, CLINICIAN, DECIDED + DAY)
        with pytest.raises(CourseStateError):
            record_clinical_event(stopped, replace(event, recorded_by=CLINICIAN), settings(), protocol())

    def test_in_maintenance_continue_changes_the_interval_only(self):
        course = continue_maintenance(in_maintenance(28), 21, CLINICIAN, DECIDED + DAY, settings(), protocol())
        assert course.maintenance_interval_days == 21
        assert course.reevaluation_due_on == in_maintenance(28).reevaluation_due_on
        assert course.transitions[-1].kind is TransitionKind.INTERVAL_CHANGED

    def test_a_new_induction_after_reevaluation(self):
        due = check_due(in_maintenance(), datetime(2027, 6, 1, tzinfo=timezone.utc), protocol())
        course = reinduce(due, 4, "relapse; re-induction", CLINICIAN, datetime(2027, 6, 2, tzinfo=timezone.utc),
                          settings())
        assert (course.status, course.induction_infusions_planned, course.maintenance_interval_days) == (
            CourseStatus.INDUCTION, 4, None)
        start = datetime(2027, 6, 3, 9, tzinfo=timezone.utc)
        for n in range(4):
            course = record_infusion(course, session_id=f"re-{n}", given_at=start + n * 3 * DAY, dose_mg=40.0,
                                     settings=settings(), protocol=protocol())
        assert course.status is CourseStatus.RESPONSE_CHECK and len(course.current_induction_infusions) == 4
        with pytest.raises(CourseStateError):
            reinduce(in_maintenance(), 4, "why", CLINICIAN, DECIDED, settings())


class TestStop:
    def test_stopping_keeps_the_reason_closes_tasks_and_the_goal(self):
        course = stop_course(non_responder(), StopReason.NON_RESPONSE, CLINICIAN, DECIDED, "no benefit after 6")
        assert course.status is CourseStatus.STOPPED
        assert (course.stop.reason, course.stop.detail, course.stop.stopped_by) == (
            StopReason.NON_RESPONSE, "no benefit after 6", CLINICIAN)
        assert course.open_tasks == () and course.goals[0].status is GoalStatus.CANCELLED
        assert course.transitions[-1].note == "Course stopped: non response. no benefit after 6"
        assert stop_course(responder(), StopReason.GOALS_MET, CLINICIAN, DECIDED).goals[0].status is \
            GoalStatus.COMPLETED

    def test_other_needs_a_detail_and_a_stopped_course_takes_no_infusions(self):
        with pytest.raises(CourseInputError) as error:
            stop_course(responder(), StopReason.OTHER, CLINICIAN, DECIDED)
        assert error.value.field == "detail"
        stopped = stop_course(responder(), StopReason.PATIENT_CHOICE, CLINICIAN, DECIDED)
        with pytest.raises(CourseStateError):
            stop_course(stopped, StopReason.PATIENT_CHOICE, CLINICIAN, DECIDED)
        with pytest.raises(CourseStateError):
            record_infusion(stopped, session_id="late", given_at=DECIDED + DAY, dose_mg=40.0, settings=settings(),
                            protocol=protocol())
        assert follow_up(stopped, "after-stop", 7, DECIDED + 30 * DAY).status is CourseStatus.STOPPED


def test_adverse_events_are_kept_by_id_and_updated():
    event = CourseAdverseEvent("ae-1", "session-2", "nausea", AdverseEventSeverity.MILD, infusion_time(2))
    course = record_adverse_event(give(new_course(), [1, 2]), event)
    course = record_adverse_event(course, replace(event, severity=AdverseEventSeverity.MODERATE))
    assert [(e.event_id, e.severity) for e in course.adverse_events] == [("ae-1", AdverseEventSeverity.MODERATE)]
    with pytest.raises(CourseInputError) as error:
        record_adverse_event(course, replace(event, kind=""))
    assert error.value.field == "adverse_event.kind"


def test_start_refuses_an_induction_beyond_the_extension_limit():
    with pytest.raises(CourseInputError) as error:
        start_course("c", "p", START, CLINICIAN, settings(), protocol(), induction_infusions=13)
    assert error.value.field == "induction_infusions"


def test_a_course_with_everything_stores_and_reads_back_as_json():
    course = follow_up(in_maintenance(), "m1", 13, DECIDED + 14 * DAY)
    course = record_score(course, phq9("m2", 12, DECIDED + 15 * DAY, ScoreContext.FOLLOW_UP, item9=1), settings(),
                          protocol())
    course = acknowledge_alert(course, course.alerts[0].alert_id, CLINICIAN, DECIDED + 15 * DAY, "called; safe")
    course = record_adverse_event(course, CourseAdverseEvent("ae-1", "session-2", "headache",
                                                             AdverseEventSeverity.MILD, infusion_time(2)))
    course = record_clinical_event(course, ClinicalEvent("e1", ClinicalEventKind.SUICIDE_ATTEMPT, DECIDED + 16 * DAY,
                                                         CLINICIAN, "seen in A&E"), settings(), protocol())
    document = json.loads(json.dumps(course.to_dict()))
    assert document["scores"][0]["total_score"] == 20
    assert TreatmentCourse.from_dict(document) == course


def test_a_course_stored_before_clinical_events_existed_still_reads():
    document = json.loads(json.dumps(in_maintenance().to_dict()))
    del document["clinical_events"]
    assert TreatmentCourse.from_dict(document).clinical_events == ()
