"""The clinician's decisions on a course (extend, maintenance, continue, re-induce, stop), each needing ``by``,
and the re-evaluation date check (``check_due``). Where a decision goes against the outcome (maintenance without a
response, continuing through a loss of response or a relapse) or is a documented choice (an extension, a
re-induction) a reason is required and kept in the course's history, which the CarePlan carries as progress
notes."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from shared.people import Person
from services.orders.course.domain.checks import require_aware, require_text, require_person
from services.orders.course.domain.errors import CourseInputError, CourseStateError
from services.orders.course.domain.goals import GoalStatus
from services.orders.course.domain.model import (
    CourseStatus,
    CourseStop,
    StopReason,
    TransitionKind,
    TreatmentCourse,
)
from services.orders.course.domain.outcomes import ResponseStatus, course_outcome, outcome_text
from services.orders.course.domain.settings import CourseSettings
from services.orders.domain.settings import ProtocolSettings
from services.orders.course.domain.course.transitions import (
    INDUCTION_STATUSES,
    check_induction_count,
    check_interval,
    joined,
    reevaluation_due,
    require_status,
    transitioned,
)


# --- decisions ---------------------------------------------------------------------------------------------------
def extend_induction(course: TreatmentCourse, total_infusions: int, reason: str, by: Person, at: datetime,
                     settings: CourseSettings) -> TreatmentCourse:
    """More induction infusions before the response check (some patients first respond at infusions 10-12): a
    documented choice, up to ``induction_extension_max_infusions`` in all."""
    require_status(course, INDUCTION_STATUSES, "extend the induction")
    by, reason = require_person(by, "by"), require_text(reason, "reason")
    given = len(course.current_induction_infusions)
    check_induction_count(total_infusions, "total_infusions", settings)
    if total_infusions <= given:
        raise CourseInputError("total_infusions", f"{given} induction infusions are already given; an extension "
                                                  f"plans more than that")
    note = f"Induction extended to {total_infusions} infusions ({given} given): {reason}"
    return transitioned(course, TransitionKind.INDUCTION_EXTENDED, CourseStatus.INDUCTION, by, at, note,
                        induction_infusions_planned=total_infusions)


def start_maintenance(course: TreatmentCourse, interval_days: int, by: Person, at: datetime, settings: CourseSettings,
                      protocol: ProtocolSettings, reason: str = "") -> TreatmentCourse:
    """From the response check to maintenance every ``interval_days`` (the clinic's range). Without a response after
    induction this needs a documented reason."""
    require_status(course, (CourseStatus.RESPONSE_CHECK,), "start maintenance")
    by = require_person(by, "by")
    check_interval(interval_days, protocol)
    outcome = course_outcome(course, settings)
    if outcome.response is not ResponseStatus.RESPONSE and not reason.strip():
        raise CourseInputError("reason", f"maintenance without a response after induction "
                                         f"({outcome_text(outcome)}) needs a documented reason")
    due = protocol.clinic_date(at) + timedelta(days=settings.maintenance_reevaluation_days)
    note = joined(f"Maintenance every {interval_days} days; re-evaluation due {due.isoformat()}",
                  outcome_text(outcome), reason)
    return transitioned(course, TransitionKind.MAINTENANCE_STARTED, CourseStatus.MAINTENANCE, by, at, note,
                        maintenance_interval_days=interval_days, reevaluation_due_on=due)


def continue_maintenance(course: TreatmentCourse, interval_days: int, by: Person, at: datetime,
                         settings: CourseSettings, protocol: ProtocolSettings, reason: str = "") -> TreatmentCourse:
    """After a re-evaluation: maintenance goes on (at ``interval_days``, the next re-evaluation set again); through a
    loss of response or a relapse only with a documented reason. In maintenance: a change of interval."""
    require_status(course, (CourseStatus.REEVALUATION_DUE, CourseStatus.MAINTENANCE), "continue maintenance")
    by = require_person(by, "by")
    check_interval(interval_days, protocol)
    if course.status is CourseStatus.MAINTENANCE:
        note = joined(f"Maintenance interval {course.maintenance_interval_days} → {interval_days} days", reason)
        return transitioned(course, TransitionKind.INTERVAL_CHANGED, CourseStatus.MAINTENANCE, by, at, note,
                            maintenance_interval_days=interval_days)
    outcome = course_outcome(course, settings)
    if (outcome.response_lost or outcome.in_relapse) and not reason.strip():
        what = "a relapse after remission" if outcome.in_relapse else "a loss of response"
        raise CourseInputError("reason", f"continuing maintenance through {what} ({outcome_text(outcome)}) "
                                         "needs a documented reason")
    due = protocol.clinic_date(at) + timedelta(days=settings.maintenance_reevaluation_days)
    note = joined(f"Re-evaluated: maintenance continues every {interval_days} days; next re-evaluation "
                  f"{due.isoformat()}", outcome_text(outcome), reason)
    return transitioned(course, TransitionKind.MAINTENANCE_CONTINUED, CourseStatus.MAINTENANCE, by, at, note,
                        maintenance_interval_days=interval_days, reevaluation_due_on=due)


def reinduce(course: TreatmentCourse, infusions: int, reason: str, by: Person, at: datetime,
             settings: CourseSettings) -> TreatmentCourse:
    """After a re-evaluation (e.g. a loss of response or a relapse): a new induction of ``infusions``, counted from
    now, with its own response check. The baseline stays the course's first."""
    require_status(course, (CourseStatus.REEVALUATION_DUE,), "start a new induction")
    by, reason = require_person(by, "by"), require_text(reason, "reason")
    require_aware(at, "at")
    check_induction_count(infusions, "infusions", settings)
    note = f"New induction of {infusions} infusions: {reason}"
    return transitioned(course, TransitionKind.REINDUCTION_STARTED, CourseStatus.INDUCTION, by, at, note,
                        induction_infusions_planned=infusions, induction_started_at=at,
                        maintenance_interval_days=None, reevaluation_due_on=None)


def stop_course(course: TreatmentCourse, reason: StopReason, by: Person, at: datetime,
                detail: str = "") -> TreatmentCourse:
    """Stopped with the reason (``other`` needs a detail). Open tasks are closed; the goal is completed when the goals
    were met, cancelled otherwise."""
    if course.status is CourseStatus.STOPPED:
        raise CourseStateError(f"course {course.course_id} is already stopped")
    if not isinstance(reason, StopReason):
        raise CourseInputError("reason", f"{reason!r} is not one of {', '.join(r.value for r in StopReason)}")
    by = require_person(by, "by")
    detail = detail.strip()
    if reason is StopReason.OTHER and not detail:
        raise CourseInputError("detail", "say why the course stopped")
    goal_status = GoalStatus.COMPLETED if reason is StopReason.GOALS_MET else GoalStatus.CANCELLED
    goals = tuple(replace(g, status=goal_status) if g.status is GoalStatus.ACTIVE else g for g in course.goals)
    note = joined(f"Course stopped: {reason.value.replace('-', ' ')}", detail)
    return transitioned(course, TransitionKind.STOPPED, CourseStatus.STOPPED, by, at, note,
                        stop=CourseStop(reason, at, by, detail), goals=goals, reevaluation_due_on=None)


def check_due(course: TreatmentCourse, now: datetime, protocol: ProtocolSettings) -> TreatmentCourse:
    """In maintenance, once the re-evaluation date has come (at the clinic): re-evaluation due with its task. Run it
    daily and after each change; otherwise it changes nothing."""
    require_aware(now, "now")
    due = course.reevaluation_due_on
    if course.status is not CourseStatus.MAINTENANCE or due is None or protocol.clinic_date(now) < due:
        return course
    reason = f"Maintenance re-evaluation due {due.isoformat()} (every maintenance period)"
    return reevaluation_due(course, due, reason, now)
