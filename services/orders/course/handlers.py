"""The course's service layer: HTTP requests and Kafka messages end up here alike. Each change loads the course,
applies the pure domain step, runs the re-evaluation due check, saves the course and enqueues its messages
(``events.course_events``) in one transaction, so "save and publish" is one step.

Entry points:
- ``on_order_event`` (the orders service calls it inside the sign's transaction): an induction order signed starts
  the patient's course, with the baseline of the latest intake; a later series is linked to the running course.
- ``on_intake_baseline`` (``intake-eligibility-decided``): keeps the intake's baseline scales for that start.
- ``on_session_completed`` (documentation's ``session-completed``): the infusion given and its adverse events go
  into the course. A redelivered or re-sent message changes nothing. The orders service marks the series' infusion
  (``OrdersService.on_session_completed``, after this handler); its order event tells ``on_order_event`` when an
  induction series ended, which starts the response check. The course only reads orders.
- ``on_questionnaire_response`` (the EHR's ``questionnaire-response-received`` on ``ehr.events``): a PHQ-9, GAD-7,
  MADRS, QIDS-SR16 or C-SSRS QuestionnaireResponse answered in the EHR is recorded on the patient's course with
  source ``ehr-message``, exactly as a clinician's score (the same messages and suicidality alerts). Unreadable:
  dead-letter with the reason; a patient without an active course (and no course named): logged and ignored.
- HTTP: scores, C-SSRS, decisions, alert acknowledgement, referrals, therapy sessions, attendance, summary, export.

Re-evaluation due (``check_due``: maintenance reached its re-evaluation date) is checked after every change and
when the course is read (the summary and the clinician's page), which then saves and publishes
``reevaluation-due`` like any other change. There is no timer: a course nobody reads or changes is checked the next
time it is opened, which is when a clinician can act on it (documented in the course README).

A new suicidality alert is its own message in the transaction of the score; after the commit the request waits (up
to ``ORDERS_COURSE_ALERT_SEND_WAIT_S``) until the outbox relay has the broker's acknowledgement, so the alert is on
the topic when the answer says ``sent_to_broker: true``. When the broker is away it stays safely in the outbox and
the answer says so."""
from __future__ import annotations

from shared.errors import FieldInputError

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Connection

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
from services.orders.course.domain.errors import CourseInputError, CourseStateError
from services.orders.course.domain.export import ExportSubject, OutcomeRow, export_rows
from services.orders.course.domain.measurements import cssrs_screening, scale_score
from services.orders.course.domain.model import SYSTEM_ACTOR, ClinicalEvent, TreatmentCourse
from services.orders.course.domain.settings import CourseSettings
from services.orders.course.domain.summary import CourseSummary, course_summary
from services.orders.course.events import CourseEvent, course_events
from services.orders.course.repository import CourseNotFoundError, CourseRepository, IntakeBaseline, LoadedCourse
from services.orders.course.translators.intake_baseline_in import baseline_scales, intake_decision
from services.orders.course.translators.questionnaire_response_in import (
    CSSRS,
    cssrs_from_questionnaire_response,
    questionnaire_instrument,
    score_from_questionnaire_response,
)
from services.orders.course.translators.session_completed_in import CompletedSession, completed_session
from services.orders.domain.eligibility import EligibilityDecision
from services.orders.domain.order import OrderStatus, OrderWithSeries
from services.orders.domain.series import SeriesPhase
from services.orders.domain.settings import ProtocolSettings
from services.orders.domain.timestamps import current_moment
from services.orders.repository import OrderNotFoundError, OrdersRepository
from shared.db import StaleRecordError, outbox
from shared.events.consumer import PermanentError, TransientError
from shared.events.event_codes import ORDER_SIGNED, SUICIDALITY_ALERT
from shared.events.topics import ORDERS_EVENTS
from shared.fhir.client import FhirNotFound
from shared.fhir.messaging import Message, build_message
from shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Step = Callable[[TreatmentCourse, datetime], TreatmentCourse]
FUTURE_TOLERANCE = timedelta(minutes=5)  # a tablet's clock may run a little ahead of the server's


@dataclass(frozen=True)
class CourseServiceSettings:
    """``ORDERS_COURSE_ALERT_SEND_WAIT_S``: how long a request that raised a suicidality alert waits for the broker
    to acknowledge the alert message before answering (it is committed to the outbox either way)."""

    alert_send_wait_s: float = 5.0

    def validate(self) -> None:
        if not 0 <= self.alert_send_wait_s <= 30:
            raise ValueError("alert_send_wait_s must be 0-30 seconds")


@dataclass(frozen=True)
class PublishedEvent:
    event_code: str
    message_id: str
    about: str | None = None  # the alert, measurement or task the message is about
    detail: dict[str, str] | None = None
    sent_to_broker: bool | None = None  # known for suicidality alerts only (the request waits for them)


@dataclass(frozen=True)
class CourseChange:
    course: TreatmentCourse
    summary: CourseSummary
    events: tuple[PublishedEvent, ...]

    @property
    def alerts_raised(self) -> tuple[PublishedEvent, ...]:
        return tuple(e for e in self.events if e.event_code == SUICIDALITY_ALERT)


class CourseService:
    def __init__(self, runtime: ServiceRuntime, settings: CourseSettings, protocol: ProtocolSettings,
                 service_settings: CourseServiceSettings = CourseServiceSettings(),
                 repository: CourseRepository | None = None, orders: OrdersRepository | None = None,
                 clock: Clock | None = None):
        self._runtime = runtime
        self.settings = settings
        self.protocol = protocol
        self._service_settings = service_settings
        self._repo = repository or CourseRepository()
        self._orders = orders or OrdersRepository()
        self._clock = clock

    # --- orders: the course starts when an induction order is signed ----------------------------------------
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
        if questionnaire_instrument(resource) == CSSRS:
            cssrs = cssrs_from_questionnaire_response(resource, self.settings)
            return (cssrs.patient_id, cssrs.course_id, cssrs.screening.measurement_id,
                    lambda course: steps.record_cssrs(course, cssrs.screening, self.settings))
        scored = score_from_questionnaire_response(resource)
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

    # --- HTTP: reads -----------------------------------------------------------------------------------------
    def patient_course(self, patient_id: str) -> CourseChange:
        """The patient's course (the active one, else the latest), after the due check."""
        with self._runtime.engine.connect() as conn:
            current = self._repo.current(conn, patient_id)
        if current is None:
            raise CourseNotFoundError(f"patient {patient_id} has no treatment course", "patient_id")
        return self._refreshed(current.course.course_id)

    def course(self, course_id: str) -> CourseChange:
        return self._refreshed(course_id)

    def course_patient(self, course_id: str) -> str | None:
        """The course's patient (for the SMART patient check); None for an unknown course."""
        with self._runtime.engine.connect() as conn:
            try:
                return self._repo.get(conn, course_id).course.patient_id
            except CourseNotFoundError:
                return None

    def summary(self, course: TreatmentCourse) -> CourseSummary:
        return course_summary(course, self._now(), self.settings, self.protocol)

    def export(self) -> tuple[OutcomeRow, ...]:
        """One de-identified row per course; birth dates are read from the EHR only for the age bands."""
        with self._runtime.engine.connect() as conn:
            courses = self._repo.all_courses(conn)
        birth_dates: dict[str, date | None] = {}
        for patient_id in {c.patient_id for c in courses}:
            birth_dates[patient_id] = self._birth_date(patient_id)
        return export_rows([ExportSubject(c, birth_dates[c.patient_id]) for c in courses], self.settings,
                           self.protocol)

    def now(self) -> datetime:
        return self._now()

    def eligibility(self, patient_id: str) -> EligibilityDecision | None:
        """The patient's latest intake decision as the orders service keeps it (the page's patient banner)."""
        with self._runtime.engine.connect() as conn:
            return self._orders.eligibility(conn, patient_id)

    # --- HTTP: facts -----------------------------------------------------------------------------------------
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

    def schedule_therapy_session(self, course_id: str, command: ScheduleTherapySession, by: str) -> CourseChange:
        return self._change(course_id, lambda course, now: psychotherapy.schedule_session(
            course, command.session_id or str(uuid.uuid4()), command.referral_id, command.scheduled_start,
            self.settings, after_infusion_number=command.after_infusion_number,
            window_exception_reason=command.window_exception_reason), by)

    def record_attendance(self, course_id: str, command: RecordAttendance) -> CourseChange:
        return self._change(course_id, lambda course, now: psychotherapy.record_attendance(
            course, command.session_id, command.attendance, command.recorded_by,
            self._measured_at(command.recorded_at, now, "recorded_at")), command.recorded_by)

    # --- internals -------------------------------------------------------------------------------------------
    def _now(self) -> datetime:
        return current_moment(self._clock() if self._clock else None)

    def _change(self, course_id: str, step: Step, author: str | None) -> CourseChange:
        """Load, apply one step and the due check, save and publish, in one transaction; then wait for the broker
        to take any suicidality alert."""
        now = self._now()
        try:
            with self._runtime.transaction() as conn:
                loaded = self._repo.get(conn, course_id)
                changed = steps.check_due(step(loaded.course, now), now, self.protocol)
                published = self._save_and_publish(conn, loaded, changed, now, author)
        except StaleRecordError:
            raise CourseStateError("the course was changed by another request; reload it and try again",
                                   "course_id") from None
        published = self._await_alerts(published)
        return CourseChange(changed, self.summary(changed), tuple(published))

    def _refreshed(self, course_id: str) -> CourseChange:
        """The course after the due check (saved and published when it changed anything)."""
        now = self._now()
        try:
            with self._runtime.transaction() as conn:
                loaded = self._repo.get(conn, course_id)
                changed = steps.check_due(loaded.course, now, self.protocol)
                published = self._save_and_publish(conn, loaded, changed, now, SYSTEM_ACTOR)
        except StaleRecordError:  # changed meanwhile by someone else, who ran the check too
            with self._runtime.engine.connect() as conn:
                changed, published = self._repo.get(conn, course_id).course, []
        return CourseChange(changed, self.summary(changed), tuple(published))

    def _save_and_publish(self, conn: Connection, loaded: LoadedCourse | None, changed: TreatmentCourse,
                          now: datetime, author: str | None) -> list[PublishedEvent]:
        before = loaded.course if loaded is not None else None
        if before == changed:
            return []
        if loaded is None:
            self._repo.add(conn, changed)
        else:
            self._repo.save(conn, loaded, changed)
        published = []
        for event in course_events(before, changed, self.settings, self.protocol.clinic_date(now), author):
            published.append(self._publish(conn, changed.patient_id, event))
        return published

    def _publish(self, conn: Connection, patient_id: str, event: CourseEvent) -> PublishedEvent:
        message = build_message(event.event_code, self._runtime.source_endpoint, event.focus,
                                author_display=event.author)
        message_id = self._runtime.publish(conn, ORDERS_EVENTS, patient_id, message)
        return PublishedEvent(event.event_code, message_id, event.subject_id, event.extra or None)

    def _await_alerts(self, published: list[PublishedEvent]) -> list[PublishedEvent]:
        alert_ids = {e.message_id for e in published if e.event_code == SUICIDALITY_ALERT}
        if not alert_ids:
            return published
        sent = self._wait_sent(alert_ids, self._service_settings.alert_send_wait_s)
        return [replace(e, sent_to_broker=e.message_id in sent) if e.message_id in alert_ids else e
                for e in published]

    def _wait_sent(self, message_ids: set[str], timeout_s: float) -> set[str]:
        """The message ids the outbox relay has marked sent (acknowledged by the broker) within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        query = select(outbox.c.message_id).where(outbox.c.message_id.in_(message_ids), outbox.c.sent_at.is_not(None))
        while True:
            with self._runtime.engine.connect() as conn:
                sent = {row.message_id for row in conn.execute(query)}
            if sent == message_ids or time.monotonic() >= deadline:
                return sent
            time.sleep(0.05)

    def _measured_at(self, moment: datetime | None, now: datetime, field: str) -> datetime:
        if moment is None:
            return now
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise CourseInputError(field, "the date-time must carry a timezone")
        if moment > now + FUTURE_TOLERANCE:
            raise CourseInputError(field, f"{moment.isoformat()} is in the future")
        return moment

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

    def _birth_date(self, patient_id: str) -> date | None:
        try:
            birth_date = self._runtime.ehr.read("Patient", patient_id).get("birthDate")
        except FhirNotFound:
            return None
        try:
            return date.fromisoformat(birth_date) if birth_date and len(birth_date) == 10 else None
        except ValueError:
            return None


def _needed(value, field: str, kind: DecisionKind):  # type: ignore[no-untyped-def]
    if value is None:
        raise CourseInputError(field, f"required for the decision {kind.value!r}")
    return value
