"""The course's start and the facts it takes in any status (but ``stopped`` for infusions): the course started
or a further series linked; an infusion given, an induction series ended, a score, a C-SSRS screener, a clinical
event, an adverse event, an alert acknowledged. Facts are keyed (session, measurement, event id) so a redelivered
message changes nothing and a resent one with other content updates the record (a rescored questionnaire)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from shared.people import Person
from services.orders.course.domain.checks import require_aware, require_positive, require_text, require_person
from services.orders.course.domain.errors import CourseInputError, CourseStateError
from services.orders.course.domain.goals import remission_goal
from services.orders.course.domain.measurements import CssrsScreening, ScaleScore
from services.orders.course.domain.model import (
    SYSTEM_ACTOR,
    ClinicalEvent,
    ClinicalEventKind,
    CourseAdverseEvent,
    CourseInfusion,
    CourseStatus,
    CourseTransition,
    TransitionKind,
    TreatmentCourse,
)
from services.orders.course.domain.outcomes import course_outcome
from services.orders.course.domain.settings import CourseSettings
from services.orders.course.domain.suicidality import (
    acknowledged, alert_for_cssrs, alert_for_score,
)
from services.orders.domain.series import SeriesPhase
from services.orders.domain.settings import ProtocolSettings
from services.orders.course.domain.course.transitions import (
    after_induction_task,
    new_task,
    INDUCTION_STATUSES,
    check_induction_count,
    complete_induction,
    reevaluation_on_outcome,
    same_answers,
    sync_response_check_task,
    transitioned,
    with_alert,
)


# --- start -------------------------------------------------------------------------------------------------------
def start_course(course_id: str, patient_id: str, started_at: datetime, started_by: Person, settings: CourseSettings,
                 protocol: ProtocolSettings, *, induction_infusions: int | None = None,
                 series_id: str | None = None) -> TreatmentCourse:
    """A course in induction with its remission goal; the response check comes after ``induction_infusions``
    (default: the clinic's induction count, ``ORDERS_INDUCTION_INFUSION_COUNT``; usually the signed series' count)."""
    course_id = require_text(course_id, "course_id")
    patient_id = require_text(patient_id, "patient_id")
    require_aware(started_at, "started_at")
    started_by = require_person(started_by, "started_by")
    planned = protocol.induction_infusion_count if induction_infusions is None else induction_infusions
    check_induction_count(planned, "induction_infusions", settings)
    goal = remission_goal(f"{course_id}-remission", protocol.clinic_date(started_at), settings)
    note = f"Course started: induction of {planned} infusions, response check after infusion {planned}"
    return TreatmentCourse(
        course_id=course_id, patient_id=patient_id, started_at=started_at, status=CourseStatus.INDUCTION,
        induction_infusions_planned=planned,
        goals=(goal,) if goal else (), series_ids=(series_id,) if series_id else (),
        transitions=(CourseTransition(started_at, started_by, TransitionKind.STARTED, CourseStatus.INDUCTION, note),),
    )


def link_series(course: TreatmentCourse, series_id: str) -> TreatmentCourse:
    """A further series of the patient signed while the course runs (a re-induction, an extension, maintenance):
    the course CarePlan names it beside the first; the same series again changes nothing."""
    series_id = require_text(series_id, "series_id")
    if course.status is CourseStatus.STOPPED:
        raise CourseStateError(f"course {course.course_id} is stopped; a new series starts a new course")
    if series_id in course.series_ids:
        return course
    return replace(course, series_ids=course.series_ids + (series_id,))


# --- facts -------------------------------------------------------------------------------------------------------
def record_infusion(course: TreatmentCourse, *, session_id: str, given_at: datetime, dose_mg: float,
                    settings: CourseSettings, protocol: ProtocolSettings, dose_mg_per_kg: float | None = None,
                    series_id: str | None = None, order_id: str | None = None,
                    stopped_early: bool = False) -> TreatmentCourse:
    """An infusion given (documentation's ``session-completed``). Numbers follow the order given; the same session
    again updates its infusion. Reaching the planned induction count starts the response check."""
    if course.status is CourseStatus.STOPPED:
        raise CourseStateError(f"course {course.course_id} is stopped; an infusion cannot be added to it")
    session_id = require_text(session_id, "session_id")
    require_aware(given_at, "given_at")
    require_positive(dose_mg, "dose_mg")
    if dose_mg_per_kg is not None:
        require_positive(dose_mg_per_kg, "dose_mg_per_kg")
    existing = next((i for i in course.infusions if i.session_id == session_id), None)
    phase = existing.phase if existing else (
        SeriesPhase.INDUCTION if course.status in INDUCTION_STATUSES else SeriesPhase.MAINTENANCE)
    infusion = CourseInfusion(existing.number if existing else 0, session_id, given_at, phase, float(dose_mg),
                              dose_mg_per_kg, series_id, order_id, stopped_early)
    if existing == infusion:
        return course
    others = [i for i in course.infusions if i.session_id != session_id]
    ordered = sorted(others + [infusion], key=lambda i: i.given_at)
    numbered = tuple(replace(i, number=n) for n, i in enumerate(ordered, start=1))
    series_ids = course.series_ids + ((series_id,) if series_id and series_id not in course.series_ids else ())
    course = replace(course, infusions=numbered, series_ids=series_ids)
    if (course.status is CourseStatus.INDUCTION
            and len(course.current_induction_infusions) >= course.induction_infusions_planned):
        course = complete_induction(course, settings, protocol)
    return course


def induction_series_ended(course: TreatmentCourse, ended_at: datetime, settings: CourseSettings,
                           protocol: ProtocolSettings) -> TreatmentCourse:
    """The induction series ended (every infusion given or cancelled, make-ups included) before the planned count
    was given: the response check runs now, however many were given (with 5 of 6 given the course must not wait
    in induction for an infusion that will never come). The same course back when it is not
    in induction (the planned count was reached, or a decision moved it on)."""
    if course.status is not CourseStatus.INDUCTION:
        return course
    require_aware(ended_at, "ended_at")
    given = course.current_induction_infusions
    last_day = protocol.clinic_date(given[-1].given_at if given else ended_at)
    due = last_day + timedelta(days=protocol.reevaluation_days_after_induction)
    kind, reason = after_induction_task(course, course_outcome(course, settings))
    note = (f"Induction series ended with {len(given)} of {course.induction_infusions_planned} planned infusions "
            f"given (the others never began and were not made up): response check. {reason}")
    course = transitioned(course, TransitionKind.INDUCTION_COMPLETED, CourseStatus.RESPONSE_CHECK, SYSTEM_ACTOR,
                          ended_at, note)
    return replace(course, tasks=course.tasks + (new_task(course, kind, due, reason, ended_at),))


def record_score(course: TreatmentCourse, score: ScaleScore, settings: CourseSettings,
                 protocol: ProtocolSettings) -> TreatmentCourse:
    """A scale score; the same measurement again with other answers is a rescoring. Raises a suicidality alert
    where the clinic's rule says so; during the response check the open task follows the new outcome; in
    maintenance a newly confirmed loss of response or relapse makes re-evaluation due."""
    existing = next((s for s in course.scores if s.measurement_id == score.measurement_id), None)
    if existing is not None:
        if existing.scale is not score.scale:
            raise CourseInputError("score.scale", f"measurement {score.measurement_id} is a {existing.scale_name}")
        if same_answers(existing, score):
            return course
        score = replace(score, rescored=True)
    was = course_outcome(course, settings)
    scores = tuple(s for s in course.scores if s.measurement_id != score.measurement_id) + (score,)
    course = with_alert(replace(course, scores=scores), alert_for_score(score, settings))
    if course.status is CourseStatus.RESPONSE_CHECK:
        course = sync_response_check_task(course, settings, score.measured_at)
    elif course.status is CourseStatus.MAINTENANCE:
        course = reevaluation_on_outcome(course, was, settings, protocol, score.measured_at)
    return course


def record_clinical_event(course: TreatmentCourse, event: ClinicalEvent, settings: CourseSettings,
                          protocol: ProtocolSettings) -> TreatmentCourse:
    """A hospitalisation or suicide attempt the clinician learned of (the same event id again updates it). After
    remission it is a relapse (``relapse_on_clinical_events``); in maintenance re-evaluation is then due."""
    event_id = require_text(event.event_id, "clinical_event.event_id")
    if not isinstance(event.kind, ClinicalEventKind):
        raise CourseInputError("clinical_event.kind", f"{event.kind!r} is not one of "
                                                      f"{', '.join(k.value for k in ClinicalEventKind)}")
    require_aware(event.occurred_at, "clinical_event.occurred_at")
    event = replace(event, event_id=event_id, recorded_by=require_person(event.recorded_by, "recorded_by"),
                    detail=event.detail.strip())
    if course.status is CourseStatus.STOPPED:
        raise CourseStateError(f"course {course.course_id} is stopped; a clinical event cannot be added to it")
    if event in course.clinical_events:
        return course
    was = course_outcome(course, settings)
    events = tuple(e for e in course.clinical_events if e.event_id != event_id) + (event,)
    course = replace(course, clinical_events=tuple(sorted(events, key=lambda e: e.occurred_at)))
    if course.status is CourseStatus.MAINTENANCE:
        course = reevaluation_on_outcome(course, was, settings, protocol, event.occurred_at)
    return course


def record_cssrs(course: TreatmentCourse, screening: CssrsScreening, settings: CourseSettings) -> TreatmentCourse:
    """A C-SSRS screener (the same measurement again replaces it); an alert when its risk reaches the clinic's
    level."""
    existing = next((s for s in course.cssrs_screens if s.measurement_id == screening.measurement_id), None)
    if existing is not None:
        if replace(existing, rescored=False) == replace(screening, rescored=False):
            return course
        screening = replace(screening, rescored=True)
    screens = tuple(s for s in course.cssrs_screens if s.measurement_id != screening.measurement_id) + (screening,)
    return with_alert(replace(course, cssrs_screens=screens), alert_for_cssrs(screening, settings))


def record_adverse_event(course: TreatmentCourse, event: CourseAdverseEvent) -> TreatmentCourse:
    """An adverse event of a session (the same event id again updates it)."""
    require_text(event.event_id, "adverse_event.event_id")
    require_text(event.session_id, "adverse_event.session_id")
    require_text(event.kind, "adverse_event.kind")
    require_aware(event.onset_at, "adverse_event.onset_at")
    events = tuple(e for e in course.adverse_events if e.event_id != event.event_id) + (event,)
    return replace(course, adverse_events=tuple(sorted(events, key=lambda e: e.onset_at)))


def acknowledge_alert(course: TreatmentCourse, alert_id: str, by: Person, at: datetime,
                      action_taken: str) -> TreatmentCourse:
    alert = next((a for a in course.alerts if a.alert_id == alert_id), None)
    if alert is None:
        raise CourseInputError("alert_id", f"no alert {alert_id} in course {course.course_id}")
    closed = acknowledged(alert, by, at, action_taken)
    return replace(course, alerts=tuple(closed if a.alert_id == alert_id else a for a in course.alerts))
