"""The clinician's acts on a course (HTTP): scores, C-SSRS screeners, clinical events, alert acknowledgements,
decisions (extend, maintenance, continue, re-induce, stop) and the psychotherapy integration (referrals, therapy
sessions, attendance). Each is one domain step through ``CourseCore._change``; a clinician's time is checked by the
clinical clock (not in the future beyond ``ORDERS_COURSE_FUTURE_TIME_TOLERANCE_S``)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import TypeVar

from shared.people import Person
from services.orders.course.commands import (
    AcknowledgeAlert,
    CloseReferral,
    Decide,
    DecisionKind,
    Refer,
    RecordAttendance,
    RecordClinicalEvent,
    RecordCssrs,
    RecordScore,
    ScheduleTherapySession,
)
from services.orders.course.domain import course as steps
from services.orders.course.domain import psychotherapy
from services.orders.course.domain.errors import CourseInputError
from services.orders.course.domain.measurements import cssrs_screening, scale_score
from services.orders.course.domain.model import ClinicalEvent, TreatmentCourse
from services.orders.course.handlers.core import CourseChange, CourseCore


class CourseClinicalActs(CourseCore):
    def record_score(self, course_id: str, command: RecordScore) -> CourseChange:
        def step(course: TreatmentCourse, now: datetime) -> TreatmentCourse:
            score = scale_score(command.measurement_id or str(uuid.uuid4()), command.scale, command.items,
                                self._measured_at(command.measured_at, now, "measured_at"), command.source,
                                command.context, session_id=command.session_id, recorded_by=command.recorded_by)
            return steps.record_score(course, score, self.settings, self.protocol)

        return self._change(course_id, step, command.recorded_by)

    def record_cssrs(self, course_id: str, command: RecordCssrs) -> CourseChange:
        def step(course: TreatmentCourse, now: datetime) -> TreatmentCourse:
            screening = cssrs_screening(command.measurement_id or str(uuid.uuid4()), dict(command.answers),
                                        self._measured_at(command.measured_at, now, "measured_at"), command.source,
                                        command.context, self.settings, session_id=command.session_id,
                                        recorded_by=command.recorded_by)
            return steps.record_cssrs(course, screening, self.settings)

        return self._change(course_id, step, command.recorded_by)

    def record_clinical_event(self, course_id: str, command: RecordClinicalEvent) -> CourseChange:
        def step(course: TreatmentCourse, now: datetime) -> TreatmentCourse:
            event = ClinicalEvent(command.event_id or str(uuid.uuid4()), command.kind,
                                  self._measured_at(command.occurred_at, now, "occurred_at"), command.recorded_by,
                                  command.detail)
            return steps.record_clinical_event(course, event, self.settings, self.protocol)

        return self._change(course_id, step, command.recorded_by)

    def acknowledge_alert(self, course_id: str, command: AcknowledgeAlert) -> CourseChange:
        return self._change(course_id, lambda course, now: steps.acknowledge_alert(
            course, command.alert_id, command.by, now, command.action_taken), command.by)

    # --- HTTP: decisions -------------------------------------------------------------------------------------
    def decide(self, course_id: str, command: Decide) -> CourseChange:
        return self._change(course_id, lambda course, now: self._decision(course, command, now), command.by)

    def _decision(self, course: TreatmentCourse, command: Decide, now: datetime) -> TreatmentCourse:
        kind, by, reason = command.kind, command.by, command.reason
        if kind is DecisionKind.EXTEND:
            return steps.extend_induction(course, _needed(command.total_infusions, "total_infusions", kind), reason,
                                          by, now, self.settings)
        if kind is DecisionKind.MAINTENANCE:
            return steps.start_maintenance(course, _needed(command.interval_days, "interval_days", kind), by, now,
                                           self.settings, self.protocol, reason)
        if kind is DecisionKind.CONTINUE:
            return steps.continue_maintenance(course, _needed(command.interval_days, "interval_days", kind), by,
                                              now, self.settings, self.protocol, reason)
        if kind is DecisionKind.REINDUCE:
            return steps.reinduce(course, _needed(command.infusions, "infusions", kind), reason, by, now,
                                  self.settings)
        return steps.stop_course(course, _needed(command.stop_reason, "stop_reason", kind), by, now, command.detail)

    # --- HTTP: psychotherapy integration ---------------------------------------------------------------------
    def refer(self, course_id: str, command: Refer) -> CourseChange:
        return self._change(course_id, lambda course, now: psychotherapy.refer(
            course, command.referral_id or str(uuid.uuid4()), command.kind, command.referred_by, now, command.reason,
            performer=command.performer, sessions_requested=command.sessions_requested), command.referred_by)

    def close_referral(self, course_id: str, command: CloseReferral) -> CourseChange:
        """The referral completed or revoked (409 when it is closed already); its booked sessions stay."""
        return self._change(course_id, lambda course, now: psychotherapy.close_referral(
            course, command.referral_id, command.status), command.closed_by)

    def schedule_therapy_session(self, course_id: str, command: ScheduleTherapySession,
                                 by: Person) -> CourseChange:
        return self._change(course_id, lambda course, now: psychotherapy.schedule_session(
            course, command.session_id or str(uuid.uuid4()), command.referral_id, command.scheduled_start,
            self.settings, after_infusion_number=command.after_infusion_number,
            window_exception_reason=command.window_exception_reason), by)

    def record_attendance(self, course_id: str, command: RecordAttendance) -> CourseChange:
        return self._change(course_id, lambda course, now: psychotherapy.record_attendance(
            course, command.session_id, command.attendance, command.recorded_by,
            self._measured_at(command.recorded_at, now, "recorded_at")), command.recorded_by)


T = TypeVar("T")


def _needed(value: T | None, field: str, kind: DecisionKind) -> T:
    """A decision's own input (e.g. ``interval_days`` for maintenance), refused naming the field when missing."""
    if value is None:
        raise CourseInputError(field, f"required for the decision {kind.value!r}")
    return value
