"""The course's Kafka handlers and its order listener: the messages of other services and the EHR that change a
course.

- ``on_order_event`` (the orders service calls it inside the transaction of each order event it publishes): an
  induction order signed starts the patient's course, with the baseline of the latest intake; a later series is
  linked to the running course; an induction order completed (its last infusion marked) ends the induction series.
- ``on_intake_baseline`` (``intake-eligibility-decided``): keeps the intake's baseline scales for that start.
- ``on_session_completed`` (documentation's ``session-completed``): the infusion given and its adverse events go
  into the course. A redelivered or re-sent message changes nothing. The orders service marks the series' infusion
  (``OrdersService.on_session_completed``, after this handler); its order event tells ``on_order_event`` when an
  induction series ended, which starts the response check. The course only reads orders.
- ``on_questionnaire_response`` (the EHR's ``questionnaire-response-received`` on ``ehr.events``): a PHQ-9, GAD-7,
  MADRS, QIDS-SR16 or C-SSRS QuestionnaireResponse answered in the EHR is recorded on the patient's course with
  source ``ehr-message``, exactly as a clinician's score (the same messages and suicidality alerts). Unreadable:
  dead-letter with the reason; a patient without an active course (and no course named): logged and ignored."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Connection

from services.orders.course.domain import course as steps
from services.orders.course.domain.errors import CourseInputError
from services.orders.course.domain.model import SYSTEM_ACTOR, TreatmentCourse
from services.orders.course.domain.patient_instruments import PatientInstrument
from services.orders.course.handlers.core import CourseCore
from services.orders.course.repository import CourseNotFoundError, IntakeBaseline, LoadedCourse
from services.orders.course.translators.intake_baseline_in import baseline_scales, intake_decision
from services.orders.course.translators.questionnaire_response_in import (
    CSSRS,
    cssrs_from_questionnaire_response,
    questionnaire_instrument,
    score_from_questionnaire_response,
)
from services.orders.course.translators.session_completed_in import CompletedSession, completed_session
from services.orders.domain.order import OrderStatus, OrderWithSeries
from services.orders.domain.series import SeriesPhase
from services.orders.repository import OrderNotFoundError
from shared.db import StaleRecordError
from shared.errors import FieldInputError
from shared.events.consumer import PermanentError, TransientError
from shared.events.event_codes import ORDER_SIGNED
from shared.fhir.messaging import Message
from shared.scales import Scale

log = logging.getLogger(__name__)


class CourseEventHandlers(CourseCore):
    # The clinic's own questionnaires (QIDS-SR16 from its file), set by CoursePatientReports in the CourseService: an
    # EHR response naming one is read by its linkIds and answer codes.
    clinic_instruments: dict[Scale, PatientInstrument]

    def on_order_event(self, conn: Connection, current: OrderWithSeries, event_code: str) -> None:
        """Called by the orders service inside the transaction of each order event it publishes: an induction order
        signed (or a CPOE order accepted) starts the course or links its series; an induction order completed
        (its last infusion marked from documentation's session) ends the induction series."""
        if current.series.phase is not SeriesPhase.INDUCTION:
            return
        if current.order.status is OrderStatus.COMPLETED:
            self._series_ended(conn, current, self._now())
            return
        if event_code != ORDER_SIGNED:
            return
        signing = current.order.signing
        at, by = (signing.changed_at, signing.changed_by) if signing else (self._now(), current.order.created_by)
        patient_id, series_id = current.order.patient_id, current.series.series_id
        running = self._repo.active(conn, patient_id)
        if running is not None:
            self._save_and_publish(conn, running, steps.link_series(running.course, series_id), at, by)
            return
        course = steps.start_course(str(uuid.uuid4()), patient_id, at, by, self.settings, self.protocol,
                                    induction_infusions=current.series.infusion_count, series_id=series_id)
        baseline = self._repo.baseline(conn, patient_id)
        if baseline is not None:
            for score in baseline.scores:
                course = steps.record_score(course, score, self.settings, self.protocol)
            for screening in baseline.cssrs_screens:
                course = steps.record_cssrs(course, screening, self.settings)
        self._save_and_publish(conn, None, course, at, by)
        log.info("course started", extra={"course_id": course.course_id, "patient_id": patient_id,
                                          "series_id": series_id, "baseline_scores": len(course.scores)})

    # --- Kafka -----------------------------------------------------------------------------------------------
    def on_intake_baseline(self, message: Message, conn: Connection) -> None:
        """``intake-eligibility-decided``: keep the intake's baseline scales for the course start (the orders
        handler keeps the decision itself in the same transaction)."""
        try:
            decision = intake_decision(message.resources)
        except FieldInputError:
            return  # the orders handler dead-letters the message with the reason
        scales = baseline_scales(message.resources, decision.patient_id, self.settings)
        kept = self._repo.save_baseline(conn, IntakeBaseline(decision.patient_id, decision.intake_id,
                                                             decision.decided_at, scales.scores,
                                                             scales.cssrs_screens))
        log.info("intake baseline received", extra={
            "message_id": message.message_id, "patient_id": decision.patient_id, "kept": kept,
            "scores": len(scales.scores), "cssrs": len(scales.cssrs_screens), "unreadable": list(scales.unreadable)})

    def on_session_completed(self, message: Message, conn: Connection) -> None:
        """Documentation's ``session-completed``: the infusion (when one was given) and its adverse events go into
        the patient's active course. The orders service marks the series' infusion after this (bootstrap's handler
        table), and its order event tells the course when an induction series ended."""
        try:
            session = completed_session(message.resources)
        except FieldInputError as error:
            raise PermanentError(f"session-completed cannot be read: {error}") from None
        now = self._now()
        loaded = self._repo.active(conn, session.patient_id)
        details = {"message_id": message.message_id, "patient_id": session.patient_id,
                   "session_id": session.session_id}
        if loaded is None:
            log.info("session-completed without an active course", extra=details)
        else:
            try:
                changed = self._course_with_session(loaded.course, session, conn)
                self._save_and_publish(conn, loaded, steps.check_due(changed, now, self.protocol), now,
                                       SYSTEM_ACTOR)
                log.info("session recorded in the course", extra={
                    **details, "course_id": loaded.course.course_id, "infusion": session.infusion is not None,
                    "adverse_events": len(session.adverse_events)})
            except StaleRecordError as error:
                raise TransientError(str(error)) from None  # a clinician changed the course meanwhile: read again
            except CourseInputError as error:  # e.g. the course was stopped: the infusion cannot be added to it
                log.warning("session not recorded in the course", extra={
                    **details, "course_id": loaded.course.course_id, "reason": str(error)})

    def _series_ended(self, conn: Connection, ended: OrderWithSeries, now: datetime) -> None:
        """The induction series ended (every infusion given or cancelled, make-ups included): the course's response
        check runs now, however many were given (a course that reached its planned count is already there)."""
        loaded = self._repo.active(conn, ended.order.patient_id)
        if loaded is None or ended.series.series_id not in loaded.course.series_ids:
            return
        changed = steps.induction_series_ended(loaded.course, now, self.settings, self.protocol)
        if changed is not loaded.course:
            self._save_and_publish(conn, loaded, changed, now, SYSTEM_ACTOR)
            log.info("induction series ended: response check", extra={
                "course_id": loaded.course.course_id, "series_id": ended.series.series_id,
                "given": len(changed.current_induction_infusions)})

    def on_questionnaire_response(self, message: Message, conn: Connection) -> None:
        """The EHR's ``questionnaire-response-received``: each QuestionnaireResponse of the message (read with the
        course's translators, source ``ehr-message``, keyed ``ehr-questionnaire-response-{id}``) is recorded on the
        course it names (``basedOn``) or else the patient's active course, with the same outcome messages and
        alerts as a clinician's score. Unreadable → dead-letter with the reason; no course → logged and ignored (an
        EHR questionnaire of a patient Ketalink does not treat is not an error). The same response again (a
        redelivery or the EHR re-sending it) records nothing new; an ``amended`` one rescores it."""
        responses = [r for r in message.resources if r.get("resourceType") == "QuestionnaireResponse"]
        if not responses:
            raise PermanentError("questionnaire-response-received carries no QuestionnaireResponse")
        now = self._now()
        for resource in responses:
            try:
                patient_id, course_id, measurement_id, step = self._received_measurement(resource)
            except FieldInputError as error:  # FhirMappingError names the element
                raise PermanentError(f"questionnaire-response-received cannot be read: {error}") from None
            details = {"message_id": message.message_id, "patient_id": patient_id,
                       "measurement_id": measurement_id}
            loaded = self._course_for(conn, patient_id, course_id)
            if loaded is None:
                log.info("EHR questionnaire response without an active course: ignored", extra=details)
                continue
            try:
                changed = steps.check_due(step(loaded.course), now, self.protocol)
                published = self._save_and_publish(conn, loaded, changed, now, SYSTEM_ACTOR)
            except StaleRecordError as error:
                raise TransientError(str(error)) from None
            except CourseInputError as error:
                raise PermanentError(f"questionnaire-response-received not recorded: {error}") from None
            log.info("EHR questionnaire response recorded in the course", extra={
                **details, "course_id": loaded.course.course_id, "events": [e.event_code for e in published]})

    def _received_measurement(self, resource: dict) -> tuple[str, str | None, str,
                                                              Callable[[TreatmentCourse], TreatmentCourse]]:
        """(patient, course named or None, measurement id, the domain step recording it) of an EHR response."""
        if questionnaire_instrument(resource, self.clinic_instruments) == CSSRS:
            cssrs = cssrs_from_questionnaire_response(resource, self.settings)
            return (cssrs.patient_id, cssrs.course_id, cssrs.screening.measurement_id,
                    lambda course: steps.record_cssrs(course, cssrs.screening, self.settings))
        scored = score_from_questionnaire_response(resource, clinic_instruments=self.clinic_instruments)
        return (scored.patient_id, scored.course_id, scored.score.measurement_id,
                lambda course: steps.record_score(course, scored.score, self.settings, self.protocol))

    def _course_for(self, conn: Connection, patient_id: str, course_id: str | None) -> LoadedCourse | None:
        if course_id is None:
            return self._repo.active(conn, patient_id)
        try:
            loaded = self._repo.get(conn, course_id)
        except CourseNotFoundError:
            raise PermanentError(f"QuestionnaireResponse.basedOn: course {course_id} not found") from None
        if loaded.course.patient_id != patient_id:
            raise PermanentError(f"QuestionnaireResponse.basedOn: course {course_id} is not the subject's course")
        return loaded

    def _course_with_session(self, course: TreatmentCourse, session: CompletedSession,
                             conn: Connection) -> TreatmentCourse:
        infusion = session.infusion
        if infusion is not None:
            order = self._order(conn, infusion.order_id)
            mg_per_kg = round(infusion.dose_mg / order.order.calculation.dosing_weight_kg, 3) if order else None
            course = steps.record_infusion(
                course, session_id=session.session_id, given_at=infusion.given_at, dose_mg=infusion.dose_mg,
                settings=self.settings, protocol=self.protocol, dose_mg_per_kg=mg_per_kg,
                series_id=order.series.series_id if order else None, order_id=infusion.order_id,
                stopped_early=infusion.stopped_early)
        for event in session.adverse_events:
            course = steps.record_adverse_event(course, event)
        return course

    def _order(self, conn: Connection, order_id: str) -> OrderWithSeries | None:
        try:
            return self._orders.get_order(conn, order_id).current
        except OrderNotFoundError:
            return None


