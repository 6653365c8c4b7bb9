"""What the course's steps share: a transition (the new status with its history entry; open tasks answered), a
task, the response check at the end of the induction and its task kept in step with the scores, re-evaluation due
(on an outcome or a date), an alert added once per level, and the checks of a decision's counts and intervals."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from shared.people import Person
from services.orders.course.domain.checks import require_aware, require_count
from services.orders.course.domain.errors import CourseStateError
from services.orders.course.domain.measurements import ScaleScore
from services.orders.course.domain.model import (
    SYSTEM_ACTOR,
    CourseStatus,
    CourseTask,
    CourseTransition,
    TaskKind,
    TaskStatus,
    TransitionKind,
    TreatmentCourse,
)
from services.orders.course.domain.outcomes import ResponseStatus, ScaleOutcome, course_outcome, outcome_text
from services.orders.course.domain.settings import CourseSettings
from services.orders.course.domain.suicidality import (
    AlertLevel, SuicidalityAlert,
)
from services.orders.domain.settings import ProtocolSettings

INDUCTION_STATUSES = (CourseStatus.INDUCTION, CourseStatus.RESPONSE_CHECK)
AFTER_INDUCTION_TASKS = (TaskKind.RESPONSE_REVIEW, TaskKind.REEVALUATION)


def complete_induction(course: TreatmentCourse, settings: CourseSettings,
                       protocol: ProtocolSettings) -> TreatmentCourse:
    last = course.current_induction_infusions[-1]
    due = protocol.clinic_date(last.given_at) + timedelta(days=protocol.reevaluation_days_after_induction)
    kind, reason = after_induction_task(course, course_outcome(course, settings))
    note = f"Induction completed ({len(course.current_induction_infusions)} infusions): response check. {reason}"
    course = transitioned(course, TransitionKind.INDUCTION_COMPLETED, CourseStatus.RESPONSE_CHECK, SYSTEM_ACTOR,
                          last.given_at, note)
    return replace(course, tasks=course.tasks + (new_task(course, kind, due, reason, last.given_at),))


def after_induction_task(course: TreatmentCourse, outcome: ScaleOutcome) -> tuple[TaskKind, str]:
    given = len(course.current_induction_infusions)
    if outcome.response is ResponseStatus.RESPONSE:
        return TaskKind.RESPONSE_REVIEW, (f"Response after {given} induction infusions: "
                                          f"{outcome_text(outcome)}. Decide maintenance.")
    what = "No response" if outcome.response is ResponseStatus.NO_RESPONSE else "Response undetermined"
    return TaskKind.REEVALUATION, (f"{what} after {given} induction infusions: {outcome_text(outcome)}. "
                                   "Re-evaluate: extend the induction, maintenance with a reason, or stop.")


def sync_response_check_task(course: TreatmentCourse, settings: CourseSettings, at: datetime) -> TreatmentCourse:
    open_task = next((t for t in course.open_tasks if t.kind in AFTER_INDUCTION_TASKS), None)
    kind, reason = after_induction_task(course, course_outcome(course, settings))
    if open_task is None or (open_task.kind, open_task.reason) == (kind, reason):
        return course
    closed = replace(open_task, status=TaskStatus.DONE, closed_at=at, closed_by=SYSTEM_ACTOR)
    tasks = tuple(closed if t.task_id == open_task.task_id else t for t in course.tasks)
    course = replace(course, tasks=tasks)
    return replace(course, tasks=tasks + (new_task(course, kind, open_task.due_on, reason, at),))


def reevaluation_on_outcome(course: TreatmentCourse, was: ScaleOutcome, settings: CourseSettings,
                            protocol: ProtocolSettings, at: datetime) -> TreatmentCourse:
    """In maintenance: re-evaluation due when the change confirmed a new relapse after remission or a new loss of
    response (the relapse named first: it is the graver finding)."""
    outcome = course_outcome(course, settings)
    if len(outcome.relapses) > len(was.relapses) and outcome.in_relapse and outcome.relapse_rule is not None:
        relapse = outcome.relapses[-1]
        reason = (f"Relapse after remission: {relapse.evidence}; {outcome_text(outcome)} "
                  f"({outcome.relapse_rule.text})")
    elif len(outcome.losses_of_response) > len(was.losses_of_response) and outcome.response_lost:
        reason = f"Loss of response: {outcome_text(outcome)} ({outcome.loss_of_response_rule.text})"
    else:
        return course
    return reevaluation_due(course, protocol.clinic_date(at), reason, at)


def reevaluation_due(course: TreatmentCourse, due_on: date, reason: str, at: datetime) -> TreatmentCourse:
    course = transitioned(course, TransitionKind.REEVALUATION_DUE, CourseStatus.REEVALUATION_DUE, SYSTEM_ACTOR, at,
                          reason)
    return replace(course, tasks=course.tasks + (new_task(course, TaskKind.REEVALUATION, due_on, reason, at),))


def transitioned(course: TreatmentCourse, kind: TransitionKind, to_status: CourseStatus, by: Person, at: datetime,
                 note: str, **changes: object) -> TreatmentCourse:
    """The course in ``to_status`` with the entry in its history; open tasks are done (a decision answers them)."""
    require_aware(at, "at")
    tasks = tuple(replace(t, status=TaskStatus.DONE, closed_at=at, closed_by=by) if t.status is TaskStatus.OPEN
                  else t for t in course.tasks)
    entry = CourseTransition(at, by, kind, to_status, note, course.status)
    return replace(course, status=to_status, tasks=tasks, transitions=course.transitions + (entry,),
                   **changes)  # type: ignore[arg-type]


def new_task(course: TreatmentCourse, kind: TaskKind, due_on: date, reason: str, at: datetime) -> CourseTask:
    return CourseTask(f"{course.course_id}-task-{len(course.tasks) + 1}", kind, due_on, reason, at)


def with_alert(course: TreatmentCourse, alert: SuicidalityAlert | None) -> TreatmentCourse:
    """Add ``alert`` unless the measurement's rule already raised one at its level or above. A rescoring or
    rescreen that reaches a higher level (MADRS item 10 from 4 to 6, a C-SSRS from moderate to high) raises a new
    alert of its own (id suffixed with the level), so the higher risk reaches the prescriber even when the first
    alert was already acknowledged; a redelivery or a rescoring at the same level or lower raises nothing."""
    if alert is None:
        return course
    raised = [a for a in course.alerts if a.measurement_id == alert.measurement_id and a.source is alert.source]
    if not raised:
        return replace(course, alerts=course.alerts + (alert,))
    if max(_LEVEL_RANK[a.level] for a in raised) >= _LEVEL_RANK[alert.level]:
        return course
    escalated = replace(alert, alert_id=f"{alert.alert_id}-{alert.level.value}")
    return replace(course, alerts=course.alerts + (escalated,))


_LEVEL_RANK = {AlertLevel.LOW: 0, AlertLevel.MODERATE: 1, AlertLevel.HIGH: 2}


def same_answers(a: ScaleScore, b: ScaleScore) -> bool:
    return replace(a, rescored=False) == replace(b, rescored=False)


def require_status(course: TreatmentCourse, allowed: tuple[CourseStatus, ...], action: str) -> None:
    if course.status not in allowed:
        names = " or ".join(s.value for s in allowed)
        raise CourseStateError(f"cannot {action} while the course is {course.status.value} (only in {names})")


def check_induction_count(count: int, field: str, settings: CourseSettings) -> None:
    require_count(count, field, 1, settings.induction_extension_max_infusions,
                  "infusions in an induction at this clinic")


def check_interval(interval_days: int, protocol: ProtocolSettings) -> None:
    require_count(interval_days, "interval_days", protocol.maintenance_min_interval_days,
                  protocol.maintenance_max_interval_days, "days, the clinic's maintenance intervals")






def joined(*parts: str) -> str:
    return ". ".join(part.strip().rstrip(".") for part in parts if part and part.strip())
