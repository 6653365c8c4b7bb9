"""Which FHIR messages one change of a course produces on ``ketalink.orders.events`` (docs/contracts.md, "The
treatment course"), decided by comparing the course before and after the change, so every entry point (a score
posted, documentation's ``session-completed``, a decision, the due check) publishes by one rule.

In this order, all in the transaction of the change:

1. ``course-changed`` — the course as the EHR sees it changed (its CarePlan: status, infusions, therapy sessions,
   progress notes; the Goal's lifecycle; a referral; a task): CarePlan, Goals, the changed ServiceRequests and
   Tasks. Always first for a new course, since everything after refers to its CarePlan.
2. ``suicidality-alert`` — one per new alert, on its own so the EHR and the prescriber get it at once:
   DetectedIssue, and the score's Observation (and QuestionnaireResponse) it points at as evidence.
3. ``score-recorded`` — one per new or rescored score / C-SSRS screener: the QuestionnaireResponse when answered in
   Ketalink (the EHR and the intake have theirs already), the Observation, and the Goal with its achievement.
4. ``response-reached`` / ``remission-reached`` / ``loss-of-response`` / ``relapse-after-remission`` — when the
   outcome on the primary scale changes to response, to remission, a loss of response is confirmed (once called
   ``relapse``: answers to messages sent under that code are still handled) or a relapse after remission is confirmed: the deciding score's Observation (the
   latest score's for a relapse confirmed by a hospitalisation or suicide attempt) and the Goal.
5. ``reevaluation-due`` — one per newly opened re-evaluation task (no or undetermined response after induction, a
   loss of response or a relapse in maintenance, the maintenance re-evaluation date): the Task and the CarePlan.
6. ``suicidality-alert-acknowledged`` — an alert the prescriber closed: the DetectedIssue with its mitigation.

Every resource carries its Ketalink identifier, so a message applied twice changes nothing in the EHR."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.orders.course.domain.goals import GoalStatus, OutcomeGoal
from services.orders.course.domain.measurements import CssrsScreening, ScaleScore, ScoreSource
from services.orders.course.domain.model import CourseTask, TaskKind, TaskStatus, TreatmentCourse
from services.orders.course.domain.outcomes import RemissionStatus, ResponseStatus, course_outcome, goal_achievement
from services.orders.course.domain.plan import course_plan
from services.orders.course.domain.settings import CourseSettings
from services.orders.course.domain.suicidality import SuicidalityAlert
from services.orders.course.domain.therapy import TherapyReferral
from services.orders.course.translators.care_plan_course_out import care_plan_from_course
from services.orders.course.translators.common import FhirJson
from services.orders.course.translators.detected_issue_suicidality_out import detected_issue_from_alert
from services.orders.course.translators.goal_out import goal_resource
from services.orders.course.translators.observation_score_out import observation_from_cssrs, observation_from_score
from services.orders.course.translators.questionnaire_response_out import (
    questionnaire_response_from_cssrs,
    questionnaire_response_from_score,
)
from services.orders.course.translators.service_request_referral_out import service_request_from_referral
from services.orders.course.translators.task_out import task_from_course_task
from shared.people import Person
from shared.fhir.messaging import build_message
from shared.events.event_codes import (
    COURSE_CHANGED,
    LOSS_OF_RESPONSE,
    REEVALUATION_DUE,
    RELAPSE_AFTER_REMISSION,
    REMISSION_REACHED,
    RESPONSE_REACHED,
    SCORE_RECORDED,
    SUICIDALITY_ALERT,
    SUICIDALITY_ALERT_ACKNOWLEDGED,
)

_OWN_QUESTIONNAIRES = (ScoreSource.CLINICIAN, ScoreSource.PATIENT_LINK)  # answered in Ketalink: we send the QR


@dataclass(frozen=True)
class CourseEvent:
    event_code: str
    focus: list[FhirJson]
    author: Person | None = None
    subject_id: str | None = None  # the alert, score or task the event is about (the API reports it)
    extra: dict[str, str] = field(default_factory=dict)


def course_message(event: CourseEvent, source_endpoint: str) -> FhirJson:
    """The FHIR message (a Bundle of type message) that carries ``event``."""
    return build_message(event.event_code, source_endpoint, event.focus, author=event.author)


def course_events(before: TreatmentCourse | None, after: TreatmentCourse, settings: CourseSettings,
                  today: date, author: Person | None = None) -> list[CourseEvent]:
    """The messages for the change ``before`` → ``after`` (``before`` None: the course has just started)."""
    focus = _Focus(after, settings, today)
    events: list[CourseEvent] = []
    changed_referrals = [r for r in after.referrals if before is None or r not in before.referrals]
    changed_tasks = [t for t in after.tasks if before is None or t not in before.tasks]
    if (before is None or course_plan(before) != course_plan(after) or _goal_states(before) != _goal_states(after)
            or changed_referrals or changed_tasks):
        events.append(CourseEvent(COURSE_CHANGED, [focus.care_plan(), *focus.goals(),
                                                   *(focus.referral(r) for r in changed_referrals),
                                                   *(focus.task(t) for t in changed_tasks)], author))

    known_alerts = {a.alert_id: a for a in before.alerts} if before else {}
    for alert in after.alerts:
        if alert.alert_id not in known_alerts:
            events.append(CourseEvent(SUICIDALITY_ALERT, [focus.alert(alert), *focus.measurement(alert.measurement_id)],
                                      None, alert.alert_id, {"level": alert.level.value}))

    new_scores = [s for s in after.scores if before is None or s not in before.scores]
    new_screens = [s for s in after.cssrs_screens if before is None or s not in before.cssrs_screens]
    for measurement in sorted([*new_scores, *new_screens], key=lambda m: m.measured_at):
        events.append(CourseEvent(SCORE_RECORDED, [*focus.measurement(measurement.measurement_id), *focus.goals()],
                                  measurement.recorded_by or author, measurement.measurement_id))

    events += _outcome_events(before, after, settings, focus, author)

    known_tasks = {t.task_id for t in before.tasks} if before else set()
    for task in after.tasks:
        if task.task_id not in known_tasks and task.kind is TaskKind.REEVALUATION and task.status is TaskStatus.OPEN:
            events.append(CourseEvent(REEVALUATION_DUE, [focus.task(task), focus.care_plan()], author, task.task_id,
                                      {"due_on": task.due_on.isoformat()}))

    for alert in after.alerts:
        earlier = known_alerts.get(alert.alert_id)
        if earlier is not None and earlier.is_open and not alert.is_open:
            events.append(CourseEvent(SUICIDALITY_ALERT_ACKNOWLEDGED, [focus.alert(alert)], alert.acknowledged_by,
                                      alert.alert_id))
    return events


def _outcome_events(before: TreatmentCourse | None, after: TreatmentCourse, settings: CourseSettings,
                    focus: "_Focus", author: Person | None) -> list[CourseEvent]:
    """Changes of the outcome on the primary scale (the rules' results, never stored: computed on both sides)."""
    was = course_outcome(before, settings) if before is not None else None
    now = course_outcome(after, settings)
    if now.last is None:
        return []
    evidence = [*focus.measurement(now.last.measurement_id), *focus.goals()]
    events = []
    if now.response is ResponseStatus.RESPONSE and (was is None or was.response is not ResponseStatus.RESPONSE):
        events.append(CourseEvent(RESPONSE_REACHED, evidence, author, now.last.measurement_id))
    if now.remission is RemissionStatus.REMISSION and (was is None or was.remission is not RemissionStatus.REMISSION):
        events.append(CourseEvent(REMISSION_REACHED, evidence, author, now.last.measurement_id))
    if len(now.losses_of_response) > (len(was.losses_of_response) if was else 0):
        events.append(CourseEvent(LOSS_OF_RESPONSE, evidence, author, now.losses_of_response[-1].measurement_id))
    if len(now.relapses) > (len(was.relapses) if was else 0):
        relapse = now.relapses[-1]
        events.append(CourseEvent(RELAPSE_AFTER_REMISSION, evidence, author,
                                  relapse.measurement_id or relapse.event_id))
    return events


def _goal_states(course: TreatmentCourse) -> tuple[tuple[str, GoalStatus], ...]:
    return tuple((g.goal_id, g.status) for g in course.goals)


class _Focus:
    """The course's resources as the translators write them, built once per change."""

    def __init__(self, course: TreatmentCourse, settings: CourseSettings, today: date):
        self._course = course
        self._settings = settings
        self._today = today

    def care_plan(self) -> FhirJson:
        return care_plan_from_course(self._course)

    def goals(self) -> list[FhirJson]:
        return [self._goal(goal) for goal in self._course.goals]

    def _goal(self, goal: OutcomeGoal) -> FhirJson:
        achievement = None
        if goal.status is GoalStatus.ACTIVE:
            outcome = course_outcome(self._course, self._settings, goal.rule.scale)
            achievement = goal_achievement(goal, outcome, self._today)
        return goal_resource(goal, self._course.patient_id, achievement)

    def referral(self, referral: TherapyReferral) -> FhirJson:
        return service_request_from_referral(referral, self._course.patient_id, self._course.course_id)

    def task(self, task: CourseTask) -> FhirJson:
        return task_from_course_task(task, self._course.patient_id, self._course.course_id)

    def alert(self, alert: SuicidalityAlert) -> FhirJson:
        return detected_issue_from_alert(alert, self._course.patient_id, self._course.course_id)

    def measurement(self, measurement_id: str) -> list[FhirJson]:
        """The score's or screener's Observation, after its QuestionnaireResponse when Ketalink took the answers."""
        patient, course_id = self._course.patient_id, self._course.course_id
        score = next((s for s in self._course.scores if s.measurement_id == measurement_id), None)
        if score is not None:
            return _with_questionnaire(score, questionnaire_response_from_score, observation_from_score(
                score, patient, course_id), patient, course_id)
        screen = next((s for s in self._course.cssrs_screens if s.measurement_id == measurement_id), None)
        if screen is not None:
            return _with_questionnaire(screen, questionnaire_response_from_cssrs, observation_from_cssrs(
                screen, patient, course_id), patient, course_id)
        return []


def _with_questionnaire(measurement: ScaleScore | CssrsScreening,
                        to_questionnaire: Callable[[Any, str, str], FhirJson], observation: FhirJson,
                        patient_id: str, course_id: str) -> list[FhirJson]:
    if measurement.source in _OWN_QUESTIONNAIRES:
        return [to_questionnaire(measurement, patient_id, course_id), observation]
    return [observation]
