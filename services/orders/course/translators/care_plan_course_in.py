"""The course CarePlan (as ``care_plan_course_out`` writes it) → CoursePlan, what it carries of the course: status
and stop reason from the categories, infusions and therapy sessions from the activities, referrals, goal and series
by identifier, and the progress notes."""
from __future__ import annotations

from services.orders.course.domain.plan import CoursePlan, PlanInfusion, PlanNote, PlanSession
from services.orders.course.domain.therapy import Attendance
from services.orders.course.translators.care_plan_course_out import SESSION_ELEMENT_PREFIX
from services.orders.course.translators.codes import (
    COURSE_CATEGORY,
    COURSE_STATUS_CODES,
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
from services.orders.course.translators.common import FhirJson, coded, required_coded
from shared.errors import FhirMappingError
from shared.fhir.reading import moment, patient_id_of, referenced_identifier, validated
from shared.fhir.codes import KETAMINE_INFUSION_PROCEDURE
from shared.fhir.datatypes import find_identifier, has_coding, read_quantity
from shared.people import Person


def plan_from_care_plan(resource: FhirJson) -> CoursePlan:
    resource = validated(resource, "CarePlan")
    course_id = find_identifier(resource, KIND_COURSE)
    if not course_id:
        raise FhirMappingError("CarePlan.identifier", "the Ketalink course identifier is missing")
    categories = resource.get("category") or []
    if not any(has_coding(c, COURSE_CATEGORY) for c in categories):
        raise FhirMappingError("CarePlan.category", f"expected {COURSE_CATEGORY.code}")
    status = next((s for s in (coded(c, COURSE_STATUS_CODES) for c in categories) if s), None)
    if status is None:
        raise FhirMappingError("CarePlan.category", "the course status category is missing")
    period = resource.get("period") or {}
    infusions, sessions, referral_ids = [], [], []
    for index, activity in enumerate(resource.get("activity") or []):
        path = f"CarePlan.activity[{index}]"
        detail = activity.get("detail") or {}
        if "reference" in activity:
            referral_id = referenced_identifier([activity["reference"]], KIND_REFERRAL)
            if not referral_id:
                raise FhirMappingError(f"{path}.reference", "expected a referral ServiceRequest by identifier")
            referral_ids.append(referral_id)
        elif has_coding(detail.get("code"), KETAMINE_INFUSION_PROCEDURE):
            infusions.append(_infusion(len(infusions) + 1, activity, path))
        else:
            sessions.append(_session(activity, path))
    return CoursePlan(
        course_id=course_id,
        patient_id=patient_id_of(resource.get("subject"), "CarePlan.subject"),
        status=status,
        started_at=moment(period.get("start"), "CarePlan.period.start"),
        stopped_at=moment(period["end"], "CarePlan.period.end") if period.get("end") else None,
        stop_reason=next((r for r in (coded(c, STOP_REASON_CODES) for c in categories) if r), None),
        goal_ids=_identifiers(resource.get("goal"), KIND_GOAL),
        series_ids=_identifiers(resource.get("supportingInfo"), KIND_SERIES_CAREPLAN),
        referral_ids=tuple(referral_ids),
        infusions=tuple(infusions),
        sessions=tuple(sessions),
        notes=tuple(PlanNote(moment(n.get("time"), f"CarePlan.note[{i}].time"),
                             Person.from_fhir(n.get("authorReference")) or Person(None, n.get("authorString") or "?"),
                             n.get("text") or "") for i, n in enumerate(resource.get("note") or [])),
    )


def _infusion(number: int, activity: FhirJson, path: str) -> PlanInfusion:
    detail = activity["detail"]
    session_id = referenced_identifier(activity.get("outcomeReference"), KIND_INFUSION_PROCEDURE)
    if not session_id:
        raise FhirMappingError(f"{path}.outcomeReference", "the infusion's Procedure (by identifier) is required")
    try:
        dose_mg = read_quantity(detail.get("dailyAmount"), "mg")
        mg_per_kg = read_quantity(detail.get("quantity"), "mg/kg")
    except ValueError as error:
        raise FhirMappingError(f"{path}.detail", str(error)) from None
    if dose_mg is None:
        raise FhirMappingError(f"{path}.detail.dailyAmount", "the dose in mg is required")
    status = detail.get("status")
    if status not in ("completed", "stopped"):
        raise FhirMappingError(f"{path}.detail.status", "an infusion given is completed or stopped")
    return PlanInfusion(number, session_id, moment((detail.get("scheduledPeriod") or {}).get("start"),
                                                   f"{path}.detail.scheduledPeriod.start"),
                        required_coded(detail.get("code"), INFUSION_PHASE_CODES, f"{path}.detail.code"),
                        dose_mg, mg_per_kg, status == "stopped")


def _session(activity: FhirJson, path: str) -> PlanSession:
    detail = activity.get("detail") or {}
    element_id = activity.get("id") or ""
    if not element_id.startswith(SESSION_ELEMENT_PREFIX):
        raise FhirMappingError(f"{path}.id", f"a therapy session activity has the id {SESSION_ELEMENT_PREFIX}<id>")
    kind = required_coded(detail.get("code"), THERAPY_SESSION_CODES, f"{path}.detail.code")
    status = detail.get("status")
    if status == "scheduled":
        attendance = Attendance.SCHEDULED
    elif status == "completed":
        attendance = Attendance.ATTENDED
    elif status == "cancelled":
        attendance = coded(detail.get("statusReason"), SESSION_NOT_ATTENDED_CODES) or Attendance.CANCELLED
    else:
        raise FhirMappingError(f"{path}.detail.status", f"{status!r} is not scheduled, completed or cancelled")
    start = moment((detail.get("scheduledPeriod") or {}).get("start"), f"{path}.detail.scheduledPeriod.start")
    return PlanSession(element_id.removeprefix(SESSION_ELEMENT_PREFIX), kind, start, attendance)


def _identifiers(references: list[FhirJson] | None, kind: str) -> tuple[str, ...]:
    found = (referenced_identifier([ref], kind) for ref in references or [])
    return tuple(value for value in found if value)
