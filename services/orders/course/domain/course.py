"""The course's transitions. Every function returns a new TreatmentCourse (never half-applied) and raises
CourseInputError naming the field, or CourseStateError when the course's status does not allow the step.

Facts (an infusion given, a score, a C-SSRS screener, an adverse event) are accepted in any status but
``stopped`` for infusions; they are keyed (session, measurement, event id) so a redelivered message changes nothing
and a resent one with other content updates the record (a rescored questionnaire). Decisions (extend, maintenance,
re-induction, stop) are the clinician's and need ``by``; where a decision goes against the outcome (maintenance
without a response, continuing through a loss of response or a relapse) or is a documented choice (an extension,
a re-induction) a reason is required and kept in the course's history, which the CarePlan carries as progress notes.

Response check: when the planned induction infusions have been given, or the induction series ended with fewer
(missed infusions not made up: ``induction_series_ended``), the course moves to ``response-check`` and opens a task
due ``ORDERS_REEVALUATION_DAYS_AFTER_INDUCTION`` days after the last one: ``response-review`` for a responder
(decide maintenance), ``reevaluation`` otherwise (no response, or response undetermined: the reason says why). Non-response never passes silently. Scores recorded during the check update the task to what they now show.
In maintenance, a loss of response, a relapse after remission (by scores, or a hospitalisation or suicide attempt
recorded with ``record_clinical_event``) or the re-evaluation date (``check_due``) moves the course to
``reevaluation-due`` with a ``reevaluation`` task."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from services.orders.course.domain.checks import require_aware, require_count, require_positive, require_text
from services.orders.course.domain.errors import CourseInputError, CourseStateError
from services.orders.course.domain.goals import GoalStatus, remission_goal
from services.orders.course.domain.measurements import CssrsScreening, ScaleScore
from services.orders.course.domain.model import (
    SYSTEM_ACTOR,
    ClinicalEvent,
    ClinicalEventKind,
    CourseAdverseEvent,
    CourseInfusion,
    CourseStatus,
    CourseStop,
    CourseTask,
    CourseTransition,
    StopReason,
    TaskKind,
    TaskStatus,
    TransitionKind,
    TreatmentCourse,
)
from services.orders.course.domain.outcomes import ResponseStatus, ScaleOutcome, course_outcome
from services.orders.course.domain.settings import CourseSettings
from services.orders.course.domain.suicidality import (
    AlertLevel, SuicidalityAlert, acknowledged, alert_for_cssrs, alert_for_score,
)
from services.orders.domain.series import SeriesPhase
from services.orders.domain.settings import ProtocolSettings
from shared.scales import DEFINITIONS

_INDUCTION_STATUSES = (CourseStatus.INDUCTION, CourseStatus.RESPONSE_CHECK)
_AFTER_INDUCTION_TASKS = (TaskKind.RESPONSE_REVIEW, TaskKind.REEVALUATION)


# --- start -------------------------------------------------------------------------------------------------------
def start_course(course_id: str, patient_id: str, started_at: datetime, started_by: str, settings: CourseSettings,
                 protocol: ProtocolSettings, *, induction_infusions: int | None = None,
                 series_id: str | None = None) -> TreatmentCourse:
    """A course in induction with its remission goal; the response check comes after ``induction_infusions``
    (default: the clinic's induction count, ``ORDERS_INDUCTION_INFUSION_COUNT``; usually the signed series' count)."""
    course_id = require_text(course_id, "course_id")
    patient_id = require_text(patient_id, "patient_id")
    require_aware(started_at, "started_at")
    started_by = require_text(started_by, "started_by")
    planned = protocol.induction_infusion_count if induction_infusions is None else induction_infusions
    _check_induction_count(planned, "induction_infusions", settings)
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
        SeriesPhase.INDUCTION if course.status in _INDUCTION_STATUSES else SeriesPhase.MAINTENANCE)
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
        course = _complete_induction(course, settings, protocol)
    return course


def induction_series_ended(course: TreatmentCourse, ended_at: datetime, settings: CourseSettings,
                           protocol: ProtocolSettings) -> TreatmentCourse:
    """The induction series ended (every infusion given or cancelled, make-ups included) before the planned count
    was given: the response check runs now, however many were given (issue 13 defect 7: with 5 of 6 given the
    course must not wait in induction for an infusion that will never come). The same course back when it is not
    in induction (the planned count was reached, or a decision moved it on)."""
    if course.status is not CourseStatus.INDUCTION:
        return course
    require_aware(ended_at, "ended_at")
    given = course.current_induction_infusions
    last_day = protocol.clinic_date(given[-1].given_at if given else ended_at)
    due = last_day + timedelta(days=protocol.reevaluation_days_after_induction)
    kind, reason = _after_induction_task(course, course_outcome(course, settings))
    note = (f"Induction series ended with {len(given)} of {course.induction_infusions_planned} planned infusions "
            f"given (the others never began and were not made up): response check. {reason}")
    course = _transition(course, TransitionKind.INDUCTION_COMPLETED, CourseStatus.RESPONSE_CHECK, SYSTEM_ACTOR,
                         ended_at, note)
    return replace(course, tasks=course.tasks + (_task(course, kind, due, reason, ended_at),))


def record_score(course: TreatmentCourse, score: ScaleScore, settings: CourseSettings,
                 protocol: ProtocolSettings) -> TreatmentCourse:
    """A scale score; the same measurement again with other answers is a rescoring. Raises a suicidality alert
    where the clinic's rule says so; during the response check the open task follows the new outcome; in
    maintenance a newly confirmed loss of response or relapse makes re-evaluation due."""
    existing = next((s for s in course.scores if s.measurement_id == score.measurement_id), None)
    if existing is not None:
        if existing.scale is not score.scale:
            raise CourseInputError("score.scale", f"measurement {score.measurement_id} is a {existing.scale_name}")
        if _same_answers(existing, score):
            return course
        score = replace(score, rescored=True)
    was = course_outcome(course, settings)
    scores = tuple(s for s in course.scores if s.measurement_id != score.measurement_id) + (score,)
    course = _with_alert(replace(course, scores=scores), alert_for_score(score, settings))
    if course.status is CourseStatus.RESPONSE_CHECK:
        course = _sync_response_check_task(course, settings, score.measured_at)
    elif course.status is CourseStatus.MAINTENANCE:
        course = _reevaluation_on_outcome(course, was, settings, protocol, score.measured_at)
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
    event = replace(event, event_id=event_id, recorded_by=require_text(event.recorded_by, "recorded_by"),
                    detail=event.detail.strip())
    if course.status is CourseStatus.STOPPED:
        raise CourseStateError(f"course {course.course_id} is stopped; a clinical event cannot be added to it")
    if event in course.clinical_events:
        return course
    was = course_outcome(course, settings)
    events = tuple(e for e in course.clinical_events if e.event_id != event_id) + (event,)
    course = replace(course, clinical_events=tuple(sorted(events, key=lambda e: e.occurred_at)))
    if course.status is CourseStatus.MAINTENANCE:
        course = _reevaluation_on_outcome(course, was, settings, protocol, event.occurred_at)
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
    return _with_alert(replace(course, cssrs_screens=screens), alert_for_cssrs(screening, settings))


def record_adverse_event(course: TreatmentCourse, event: CourseAdverseEvent) -> TreatmentCourse:
    """An adverse event of a session (the same event id again updates it)."""
    require_text(event.event_id, "adverse_event.event_id")
    require_text(event.session_id, "adverse_event.session_id")
    require_text(event.kind, "adverse_event.kind")
    require_aware(event.onset_at, "adverse_event.onset_at")
    events = tuple(e for e in course.adverse_events if e.event_id != event.event_id) + (event,)
    return replace(course, adverse_events=tuple(sorted(events, key=lambda e: e.onset_at)))


def acknowledge_alert(course: TreatmentCourse, alert_id: str, by: str, at: datetime,
                      action_taken: str) -> TreatmentCourse:
    alert = next((a for a in course.alerts if a.alert_id == alert_id), None)
    if alert is None:
        raise CourseInputError("alert_id", f"no alert {alert_id} in course {course.course_id}")
    closed = acknowledged(alert, by, at, action_taken)
    return replace(course, alerts=tuple(closed if a.alert_id == alert_id else a for a in course.alerts))


# --- decisions ---------------------------------------------------------------------------------------------------
def extend_induction(course: TreatmentCourse, total_infusions: int, reason: str, by: str, at: datetime,
                     settings: CourseSettings) -> TreatmentCourse:
    """More induction infusions before the response check (some patients first respond at infusions 10-12): a
    documented choice, up to ``induction_extension_max_infusions`` in all."""
    _require_status(course, _INDUCTION_STATUSES, "extend the induction")
    by, reason = require_text(by, "by"), require_text(reason, "reason")
    given = len(course.current_induction_infusions)
    _check_induction_count(total_infusions, "total_infusions", settings)
    if total_infusions <= given:
        raise CourseInputError("total_infusions", f"{given} induction infusions are already given; an extension "
                                                  f"plans more than that")
    note = f"Induction extended to {total_infusions} infusions ({given} given): {reason}"
    return _transition(course, TransitionKind.INDUCTION_EXTENDED, CourseStatus.INDUCTION, by, at, note,
                       induction_infusions_planned=total_infusions)


def start_maintenance(course: TreatmentCourse, interval_days: int, by: str, at: datetime, settings: CourseSettings,
                      protocol: ProtocolSettings, reason: str = "") -> TreatmentCourse:
    """From the response check to maintenance every ``interval_days`` (the clinic's range). Without a response after
    induction this needs a documented reason."""
    _require_status(course, (CourseStatus.RESPONSE_CHECK,), "start maintenance")
    by = require_text(by, "by")
    _check_interval(interval_days, protocol)
    outcome = course_outcome(course, settings)
    if outcome.response is not ResponseStatus.RESPONSE and not reason.strip():
        raise CourseInputError("reason", f"maintenance without a response after induction "
                                         f"({outcome_text(outcome)}) needs a documented reason")
    due = protocol.clinic_date(at) + timedelta(days=settings.maintenance_reevaluation_days)
    note = _joined(f"Maintenance every {interval_days} days; re-evaluation due {due.isoformat()}",
                   outcome_text(outcome), reason)
    return _transition(course, TransitionKind.MAINTENANCE_STARTED, CourseStatus.MAINTENANCE, by, at, note,
                       maintenance_interval_days=interval_days, reevaluation_due_on=due)


def continue_maintenance(course: TreatmentCourse, interval_days: int, by: str, at: datetime,
                         settings: CourseSettings, protocol: ProtocolSettings, reason: str = "") -> TreatmentCourse:
    """After a re-evaluation: maintenance goes on (at ``interval_days``, the next re-evaluation set again); through a
    loss of response or a relapse only with a documented reason. In maintenance: a change of interval."""
    _require_status(course, (CourseStatus.REEVALUATION_DUE, CourseStatus.MAINTENANCE), "continue maintenance")
    by = require_text(by, "by")
    _check_interval(interval_days, protocol)
    if course.status is CourseStatus.MAINTENANCE:
        note = _joined(f"Maintenance interval {course.maintenance_interval_days} → {interval_days} days", reason)
        return _transition(course, TransitionKind.INTERVAL_CHANGED, CourseStatus.MAINTENANCE, by, at, note,
                           maintenance_interval_days=interval_days)
    outcome = course_outcome(course, settings)
    if (outcome.response_lost or outcome.in_relapse) and not reason.strip():
        what = "a relapse after remission" if outcome.in_relapse else "a loss of response"
        raise CourseInputError("reason", f"continuing maintenance through {what} ({outcome_text(outcome)}) "
                                         "needs a documented reason")
    due = protocol.clinic_date(at) + timedelta(days=settings.maintenance_reevaluation_days)
    note = _joined(f"Re-evaluated: maintenance continues every {interval_days} days; next re-evaluation "
                   f"{due.isoformat()}", outcome_text(outcome), reason)
    return _transition(course, TransitionKind.MAINTENANCE_CONTINUED, CourseStatus.MAINTENANCE, by, at, note,
                       maintenance_interval_days=interval_days, reevaluation_due_on=due)


def reinduce(course: TreatmentCourse, infusions: int, reason: str, by: str, at: datetime,
             settings: CourseSettings) -> TreatmentCourse:
    """After a re-evaluation (e.g. a loss of response or a relapse): a new induction of ``infusions``, counted from
    now, with its own response check. The baseline stays the course's first."""
    _require_status(course, (CourseStatus.REEVALUATION_DUE,), "start a new induction")
    by, reason = require_text(by, "by"), require_text(reason, "reason")
    require_aware(at, "at")
    _check_induction_count(infusions, "infusions", settings)
    note = f"New induction of {infusions} infusions: {reason}"
    return _transition(course, TransitionKind.REINDUCTION_STARTED, CourseStatus.INDUCTION, by, at, note,
                       induction_infusions_planned=infusions, induction_started_at=at,
                       maintenance_interval_days=None, reevaluation_due_on=None)


def stop_course(course: TreatmentCourse, reason: StopReason, by: str, at: datetime,
                detail: str = "") -> TreatmentCourse:
    """Stopped with the reason (``other`` needs a detail). Open tasks are closed; the goal is completed when the goals
    were met, cancelled otherwise."""
    if course.status is CourseStatus.STOPPED:
        raise CourseStateError(f"course {course.course_id} is already stopped")
    if not isinstance(reason, StopReason):
        raise CourseInputError("reason", f"{reason!r} is not one of {', '.join(r.value for r in StopReason)}")
    by = require_text(by, "by")
    detail = detail.strip()
    if reason is StopReason.OTHER and not detail:
        raise CourseInputError("detail", "say why the course stopped")
    goal_status = GoalStatus.COMPLETED if reason is StopReason.GOALS_MET else GoalStatus.CANCELLED
    goals = tuple(replace(g, status=goal_status) if g.status is GoalStatus.ACTIVE else g for g in course.goals)
    note = _joined(f"Course stopped: {reason.value.replace('-', ' ')}", detail)
    return _transition(course, TransitionKind.STOPPED, CourseStatus.STOPPED, by, at, note,
                       stop=CourseStop(reason, at, by, detail), goals=goals, reevaluation_due_on=None)


def check_due(course: TreatmentCourse, now: datetime, protocol: ProtocolSettings) -> TreatmentCourse:
    """In maintenance, once the re-evaluation date has come (at the clinic): re-evaluation due with its task. Run it
    daily and after each change; otherwise it changes nothing."""
    require_aware(now, "now")
    due = course.reevaluation_due_on
    if course.status is not CourseStatus.MAINTENANCE or due is None or protocol.clinic_date(now) < due:
        return course
    reason = f"Maintenance re-evaluation due {due.isoformat()} (every maintenance period)"
    return _reevaluation_due(course, due, reason, now)


def outcome_text(outcome: ScaleOutcome) -> str:
    """The outcome in one line, e.g. "PHQ-9 24 → 10 (58.3% drop): response" or why it is undetermined."""
    name = DEFINITIONS[outcome.scale].name
    if outcome.baseline is None or outcome.last is None:
        return f"{name} response undetermined: {'; '.join(outcome.reasons)}"
    drop = "" if outcome.last_drop_pct is None else f" ({outcome.last_drop_pct:g}% drop)"
    text = f"{name} {outcome.baseline.total} → {outcome.last.total}{drop}: {outcome.response.value}"
    if outcome.response is ResponseStatus.UNDETERMINED:
        text += f" ({'; '.join(outcome.reasons)})"
    return text


# --- helpers -----------------------------------------------------------------------------------------------------
def _complete_induction(course: TreatmentCourse, settings: CourseSettings,
                        protocol: ProtocolSettings) -> TreatmentCourse:
    last = course.current_induction_infusions[-1]
    due = protocol.clinic_date(last.given_at) + timedelta(days=protocol.reevaluation_days_after_induction)
    kind, reason = _after_induction_task(course, course_outcome(course, settings))
    note = f"Induction completed ({len(course.current_induction_infusions)} infusions): response check. {reason}"
    course = _transition(course, TransitionKind.INDUCTION_COMPLETED, CourseStatus.RESPONSE_CHECK, SYSTEM_ACTOR,
                         last.given_at, note)
    return replace(course, tasks=course.tasks + (_task(course, kind, due, reason, last.given_at),))


def _after_induction_task(course: TreatmentCourse, outcome: ScaleOutcome) -> tuple[TaskKind, str]:
    given = len(course.current_induction_infusions)
    if outcome.response is ResponseStatus.RESPONSE:
        return TaskKind.RESPONSE_REVIEW, (f"Response after {given} induction infusions: "
                                          f"{outcome_text(outcome)}. Decide maintenance.")
    what = "No response" if outcome.response is ResponseStatus.NO_RESPONSE else "Response undetermined"
    return TaskKind.REEVALUATION, (f"{what} after {given} induction infusions: {outcome_text(outcome)}. "
                                   "Re-evaluate: extend the induction, maintenance with a reason, or stop.")


def _sync_response_check_task(course: TreatmentCourse, settings: CourseSettings, at: datetime) -> TreatmentCourse:
    open_task = next((t for t in course.open_tasks if t.kind in _AFTER_INDUCTION_TASKS), None)
    kind, reason = _after_induction_task(course, course_outcome(course, settings))
    if open_task is None or (open_task.kind, open_task.reason) == (kind, reason):
        return course
    closed = replace(open_task, status=TaskStatus.DONE, closed_at=at, closed_by=SYSTEM_ACTOR)
    tasks = tuple(closed if t.task_id == open_task.task_id else t for t in course.tasks)
    course = replace(course, tasks=tasks)
    return replace(course, tasks=tasks + (_task(course, kind, open_task.due_on, reason, at),))


def _reevaluation_on_outcome(course: TreatmentCourse, was: ScaleOutcome, settings: CourseSettings,
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
    return _reevaluation_due(course, protocol.clinic_date(at), reason, at)


def _reevaluation_due(course: TreatmentCourse, due_on: date, reason: str, at: datetime) -> TreatmentCourse:
    course = _transition(course, TransitionKind.REEVALUATION_DUE, CourseStatus.REEVALUATION_DUE, SYSTEM_ACTOR, at,
                         reason)
    return replace(course, tasks=course.tasks + (_task(course, TaskKind.REEVALUATION, due_on, reason, at),))


def _transition(course: TreatmentCourse, kind: TransitionKind, to_status: CourseStatus, by: str, at: datetime,
                note: str, **changes: object) -> TreatmentCourse:
    """The course in ``to_status`` with the entry in its history; open tasks are done (a decision answers them)."""
    require_aware(at, "at")
    tasks = tuple(replace(t, status=TaskStatus.DONE, closed_at=at, closed_by=by) if t.status is TaskStatus.OPEN
                  else t for t in course.tasks)
    entry = CourseTransition(at, by, kind, to_status, note, course.status)
    return replace(course, status=to_status, tasks=tasks, transitions=course.transitions + (entry,),
                   **changes)  # type: ignore[arg-type]


def _task(course: TreatmentCourse, kind: TaskKind, due_on: date, reason: str, at: datetime) -> CourseTask:
    return CourseTask(f"{course.course_id}-task-{len(course.tasks) + 1}", kind, due_on, reason, at)


def _with_alert(course: TreatmentCourse, alert: SuicidalityAlert | None) -> TreatmentCourse:
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


def _same_answers(a: ScaleScore, b: ScaleScore) -> bool:
    return replace(a, rescored=False) == replace(b, rescored=False)


def _require_status(course: TreatmentCourse, allowed: tuple[CourseStatus, ...], action: str) -> None:
    if course.status not in allowed:
        names = " or ".join(s.value for s in allowed)
        raise CourseStateError(f"cannot {action} while the course is {course.status.value} (only in {names})")


def _check_induction_count(count: int, field: str, settings: CourseSettings) -> None:
    require_count(count, field, 1, settings.induction_extension_max_infusions,
                  "infusions in an induction at this clinic")


def _check_interval(interval_days: int, protocol: ProtocolSettings) -> None:
    require_count(interval_days, "interval_days", protocol.maintenance_min_interval_days,
                  protocol.maintenance_max_interval_days, "days, the clinic's maintenance intervals")






def _joined(*parts: str) -> str:
    return ". ".join(part.strip().rstrip(".") for part in parts if part and part.strip())
