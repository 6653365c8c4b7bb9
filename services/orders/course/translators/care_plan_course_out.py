"""The course → its CarePlan (beside the orders' series CarePlans, which it names in ``supportingInfo``).

- ``identifier`` kind ``course``; ``status`` active until stopped, then ``completed`` when the goals were met and
  ``revoked`` otherwise; ``category``: the course, its detailed status (induction, response-check, maintenance,
  reevaluation-due, stopped) and, once stopped, the stop reason; ``period`` from start to stop; ``goal`` → the Goal.
- ``activity``, in this order: one per referral (``reference`` → the ServiceRequest); one per infusion given
  (``detail``: kind MedicationRequest, code ketamine-infusion plus induction/maintenance, status ``completed`` or
  ``stopped`` when stopped early, ``scheduledPeriod.start`` when given, ``dailyAmount`` mg, ``quantity`` mg/kg;
  ``outcomeReference`` → documentation's Procedure of that session); one per psychotherapy or integration session
  (element id ``therapy-session-{id}``; ``detail``: kind Appointment, status scheduled / completed / cancelled with
  ``statusReason`` did-not-attend or session-cancelled, ``scheduledPeriod.start``).
- ``note``: the course's history as progress notes (time, author, what changed and why)."""
from __future__ import annotations

from services.orders.course.domain.model import CourseStatus, StopReason, TreatmentCourse
from services.orders.course.domain.plan import CoursePlan, PlanInfusion, PlanSession, course_plan
from services.orders.course.domain.therapy import Attendance
from services.orders.course.translators.codes import (
    ACTIVITY_KIND_INFUSION,
    ACTIVITY_KIND_SESSION,
    COURSE_CATEGORY,
    COURSE_STATUS_CODES,
    COURSE_TITLE,
    INFUSION_PHASE_CODES,
    KIND_COURSE,
    KIND_GOAL,
    KIND_INFUSION_PROCEDURE,
    KIND_REFERRAL,
    KIND_SERIES_CAREPLAN,
    SESSION_NOT_ATTENDED_CODES,
    STOP_REASON_CODES,
    THERAPY_SESSION_CODES,
)
from services.orders.course.translators.common import FhirJson, note_author
from shared.fhir.codes import KETAMINE_INFUSION_PROCEDURE
from shared.fhir.datatypes import codeable_concept, coding, identifier, instant, quantity, reference, \
    reference_by_identifier
from shared.fhir.validate import validate_resource

SESSION_ELEMENT_PREFIX = "therapy-session-"
ACTIVITY_STATUS_BY_ATTENDANCE = {Attendance.SCHEDULED: "scheduled", Attendance.ATTENDED: "completed",
                                 Attendance.MISSED: "cancelled", Attendance.CANCELLED: "cancelled"}


def care_plan_from_course(course: TreatmentCourse) -> FhirJson:
    return care_plan_from_plan(course_plan(course))


def care_plan_from_plan(plan: CoursePlan) -> FhirJson:
    categories = [codeable_concept(COURSE_CATEGORY), codeable_concept(COURSE_STATUS_CODES[plan.status])]
    if plan.stop_reason is not None:
        categories.append(codeable_concept(STOP_REASON_CODES[plan.stop_reason]))
    period = {"start": instant(plan.started_at)}
    if plan.stopped_at is not None:
        period["end"] = instant(plan.stopped_at)
    resource: FhirJson = {
        "resourceType": "CarePlan",
        "identifier": [identifier(KIND_COURSE, plan.course_id)],
        "status": _care_plan_status(plan),
        "intent": "plan",
        "category": categories,
        "title": COURSE_TITLE,
        "subject": reference("Patient", plan.patient_id),
        "period": period,
        "created": instant(plan.started_at),
    }
    if plan.series_ids:
        resource["supportingInfo"] = [reference_by_identifier("CarePlan", KIND_SERIES_CAREPLAN, series_id)
                                      for series_id in plan.series_ids]
    if plan.goal_ids:
        resource["goal"] = [reference_by_identifier("Goal", KIND_GOAL, goal_id) for goal_id in plan.goal_ids]
    activities = [{"reference": reference_by_identifier("ServiceRequest", KIND_REFERRAL, referral_id)}
                  for referral_id in plan.referral_ids]
    activities += [_infusion_activity(infusion) for infusion in plan.infusions]
    activities += [_session_activity(session) for session in plan.sessions]
    if activities:
        resource["activity"] = activities
    if plan.notes:
        resource["note"] = [{**note_author(note.by), "time": instant(note.at), "text": note.text}
                            for note in plan.notes]
    return validate_resource(resource)


def _care_plan_status(plan: CoursePlan) -> str:
    if plan.status is not CourseStatus.STOPPED:
        return "active"
    return "completed" if plan.stop_reason is StopReason.GOALS_MET else "revoked"


def _infusion_activity(infusion: PlanInfusion) -> FhirJson:
    dose_text = f"{infusion.dose_mg:g} mg" + (f" ({infusion.dose_mg_per_kg:g} mg/kg)"
                                              if infusion.dose_mg_per_kg is not None else "")
    detail: FhirJson = {
        "kind": ACTIVITY_KIND_INFUSION,
        "code": {"coding": [coding(KETAMINE_INFUSION_PROCEDURE), coding(INFUSION_PHASE_CODES[infusion.phase])]},
        "status": "stopped" if infusion.stopped_early else "completed",
        "scheduledPeriod": {"start": instant(infusion.given_at)},
        "dailyAmount": quantity(infusion.dose_mg, "mg"),
        "description": f"Infusion {infusion.number} ({infusion.phase.value}): {dose_text}",
    }
    if infusion.dose_mg_per_kg is not None:
        detail["quantity"] = quantity(infusion.dose_mg_per_kg, "mg/kg")
    return {"outcomeReference": [reference_by_identifier("Procedure", KIND_INFUSION_PROCEDURE, infusion.session_id)],
            "detail": detail}


def _session_activity(session: PlanSession) -> FhirJson:
    code = THERAPY_SESSION_CODES[session.kind]
    detail: FhirJson = {
        "kind": ACTIVITY_KIND_SESSION,
        "code": codeable_concept(code),
        "status": ACTIVITY_STATUS_BY_ATTENDANCE[session.attendance],
        "scheduledPeriod": {"start": instant(session.scheduled_start)},
        "description": f"{code.display} ({session.attendance.value})",
    }
    if session.attendance in SESSION_NOT_ATTENDED_CODES:
        detail["statusReason"] = codeable_concept(SESSION_NOT_ATTENDED_CODES[session.attendance])
    return {"id": f"{SESSION_ELEMENT_PREFIX}{session.session_id}", "detail": detail}
