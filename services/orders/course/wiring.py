"""What the orders service's ``bootstrap.build`` needs from the course: its service (settings ``ORDERS_COURSE_*``,
checked at start-up against the order protocol), and its Kafka handlers."""
from __future__ import annotations

import os
import sys

from sqlalchemy.engine import Connection

from services.orders.course.domain.settings import CourseSettings, refuse_renamed
from services.orders.course.handlers import CourseService, CourseServiceSettings
from services.orders.domain.settings import ProtocolSettings
from shared.config import SettingsError, load_settings
from shared.events.consumer import Handler
from shared.events.event_codes import COURSE_EVENT_CODES, LEGACY_COURSE_EVENT_CODES
from shared.fhir.messaging import Message
from shared.runtime import ServiceRuntime

SETTINGS_PREFIX = "ORDERS_COURSE_"
# What the EHR answers on ehr.responses for the course's messages, and the codes of messages sent before a rename
# (an answer to one may still come).
COURSE_RESPONSE_EVENT_CODES = COURSE_EVENT_CODES + LEGACY_COURSE_EVENT_CODES


def course_service(runtime: ServiceRuntime, protocol: ProtocolSettings) -> CourseService:
    """A bad ``ORDERS_COURSE_*`` value stops the process with a message naming it."""
    try:
        refuse_renamed(os.environ, SETTINGS_PREFIX)
        settings = load_settings(CourseSettings, SETTINGS_PREFIX)
        settings.validate_with(protocol)
        service_settings = load_settings(CourseServiceSettings, SETTINGS_PREFIX)
    except (SettingsError, ValueError) as error:
        sys.exit(f"orders: configuration error: {error}")
    return CourseService(runtime, settings, protocol, service_settings)


def in_turn(*handlers: Handler) -> Handler:
    """One message, several handlers, one transaction (e.g. the eligibility decision and the course's baseline)."""

    def handle(message: Message, conn: Connection) -> None:
        for handler in handlers:
            handler(message, conn)

    return handle
