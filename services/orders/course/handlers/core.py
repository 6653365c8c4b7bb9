"""What every entry point of the course's service layer shares: the service's settings, its answer to a change
(the course, its summary and the messages published), and the one path of a change: load, apply one domain step and
the due check, save and enqueue its messages (``messages.course_events``) in one transaction, so "save and publish"
is one step; then wait for the broker to take any suicidality alert (up to ``ORDERS_COURSE_ALERT_SEND_WAIT_S``), so
the alert is on the topic when the answer says ``sent_to_broker: true``. When the broker is away it stays safely
in the outbox and the answer says so."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Connection

from services.orders.course.domain import course as steps
from services.orders.course.domain.errors import CourseInputError, CourseStateError
from services.orders.course.domain.model import SYSTEM_ACTOR, TreatmentCourse
from services.orders.course.domain.settings import CourseSettings
from services.orders.course.domain.summary import CourseSummary, course_summary
from services.orders.course.messages import CourseEvent, course_events, course_message
from services.orders.course.repository import CourseRepository, LoadedCourse
from services.orders.domain.settings import ProtocolSettings
from services.orders.domain.timestamps import current_moment
from services.orders.repository import OrdersRepository
from shared.people import Person
from shared.fhir.client import FhirClient
from shared.clock import ClinicalClock
from shared.db import StaleRecordError, outbox
from shared.ehr_delivery import track
from shared.record_writes import without_needless_conflicts
from shared.events.event_codes import SUICIDALITY_ALERT
from shared.events.topics import ORDERS_EVENTS
from shared.runtime import ServiceRuntime

COURSE_KIND = "course"  # the record kind of the course's messages in ehr_deliveries

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Step = Callable[[TreatmentCourse, datetime], TreatmentCourse]


@dataclass(frozen=True)
class CourseServiceSettings:
    """``ORDERS_COURSE_ALERT_SEND_WAIT_S``: how long a request that raised a suicidality alert waits for the broker
    to acknowledge the alert message before answering (it is committed to the outbox either way).
    ``ORDERS_COURSE_FUTURE_TIME_TOLERANCE_S``: how far ahead of the server's clock a clinician's time (a score's,
    an attendance's, a clinical event's) may be (a tablet's clock drifts); anything later is refused as a time in
    the future."""

    alert_send_wait_s: float = 5.0
    future_time_tolerance_s: int = 300

    def validate(self) -> None:
        if not 0 <= self.alert_send_wait_s <= 30:
            raise ValueError("alert_send_wait_s must be 0-30 seconds")
        if not 0 <= self.future_time_tolerance_s <= 3600:
            raise ValueError("future_time_tolerance_s must be 0-3600")


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


class CourseCore:
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
        # The one clock: now (whole seconds, as FHIR instants carry) and the check of a clinician's time.
        self._clock = ClinicalClock(timedelta(seconds=service_settings.future_time_tolerance_s),
                                    lambda: current_moment(clock() if clock else None), CourseInputError)

    @property
    def ehr(self) -> FhirClient:
        """The service's own EHR client (who a backend client acts for is checked with it)."""
        return self._runtime.ehr

    def summary(self, course: TreatmentCourse) -> CourseSummary:
        return course_summary(course, self._now(), self.settings, self.protocol)

    def now(self) -> datetime:
        return self._now()

    def _now(self) -> datetime:
        return self._clock.now()

    def _change(self, course_id: str, step: Step, author: Person | None) -> CourseChange:
        """Load, apply one step and the due check, save and publish, in one transaction; then wait for the broker
        to take any suicidality alert."""
        now = self._now()

        def attempt(locked: bool) -> tuple[TreatmentCourse, list[PublishedEvent]]:
            with self._runtime.transaction() as conn:
                if locked:
                    self._repo.lock(conn, course_id)
                loaded = self._repo.get(conn, course_id)
                changed = steps.check_due(step(loaded.course, now), now, self.protocol)
                return changed, self._save_and_publish(conn, loaded, changed, now, author)

        try:  # a course changed meanwhile (a second score, an alert's acknowledgement) is read again and the step
            # run on it (shared/record_writes.py): only what the course's rules refuse on it now is a conflict
            changed, published = without_needless_conflicts(attempt, f"course {course_id}")
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
                          now: datetime, author: Person | None) -> list[PublishedEvent]:
        before = loaded.course if loaded is not None else None
        if before == changed:
            return []
        if loaded is None:
            self._repo.add(conn, changed)
        else:
            self._repo.save(conn, loaded, changed)
        published = []
        for event in course_events(before, changed, self.settings, self.protocol.clinic_date(now), author):
            published.append(self._publish(conn, changed, event))
        return published

    def _publish(self, conn: Connection, course: TreatmentCourse, event: CourseEvent) -> PublishedEvent:
        """Enqueue the event's message and track it for the EHR's answer under the course (shared/ehr_delivery)."""
        message_id = self._runtime.publish(conn, ORDERS_EVENTS, course.patient_id,
                                           course_message(event, self._runtime.source_endpoint))
        track(conn, message_id, event.event_code, COURSE_KIND, course.course_id, course.patient_id)
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
        """The clinician's time, checked by the clinical clock (not in the future beyond its tolerance), or
        ``now``: the step's time."""
        return now if moment is None else self._clock.check(moment, field)

