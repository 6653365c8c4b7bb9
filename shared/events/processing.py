"""What one inbound record does to the service's store: decoded and checked, routed to its handler by event code,
applied with its message id recorded in the same transaction (so a redelivery is a duplicate), or refused with the
error that decides its fate in ``ConsumerLoop`` (``shared/events/consumer.py``): a PermanentError is dead-lettered,
a TransientError retried and held, an OutageError retried for as long as the outage lasts."""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from shared.db import processed_messages, utcnow
from shared.fhir.client import FhirUnavailable
from shared.fhir.messaging import Message, MessageError, parse_message
from shared.json_bounds import DEFAULT_MAX_DEPTH, too_deep


class TransientError(Exception):
    """Processing this record failed for a reason that may pass (a referenced resource not there yet, a server
    error on this record): retried a few times in line, then held and retried with growing delays, then parked."""


class OutageError(TransientError):
    """A dependency answers nothing at all (the EHR unreachable, 502/503/504): every record would fail the same way,
    so the record is retried in line for as long as the outage lasts, and never held or parked for it: holding
    would only move the whole backlog to the table, and parking would give up on work that succeeds once it is back."""


# The EHR is away for every record, not failing this one: no answer (0), bad gateway, unavailable, gateway timeout.
EHR_OUTAGE_STATUSES = frozenset({0, 502, 503, 504})


def is_outage(error: BaseException) -> bool:
    """An OutageError, or a failure caused by the EHR answering nothing or 502/503/504 however a handler wrapped it
    (``raise TransientError(...) from None`` still keeps the EHR's error as its context)."""
    seen: BaseException | None = error
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, OutageError) or (isinstance(seen, FhirUnavailable) and seen.status in EHR_OUTAGE_STATUSES):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class PermanentError(ValueError):
    """The message can never be processed as it is: it goes to the dead-letter topic with this reason."""


Handler = Callable[[Message, Connection], None]
Handlers = Mapping[str, Handler]  # event code → handler
ANY_EVENT = "*"  # a handler under this key takes every event code without a handler of its own
MAX_BATCH_RECORDS = 500  # kafka-python's max_poll_records: a poll never returns more


class BatchHandlers(dict[str, Handler]):
    """A handler table whose handlers do nothing but change the database in the transaction they are given: no EHR
    call, no broker send, nothing kept that a rollback would not undo (a log line or a counter aside). The consumer
    may then apply up to ``batch_records`` records of one partition, from one poll, in one transaction: one durable
    commit and one offset commit for all of them instead of one each (``ConsumerLoop``). Each record's outcome is
    what it would be alone: a batch in which any record fails is rolled back whole and its records are handled one
    by one."""

    def __init__(self, handlers: Mapping[str, Handler], batch_records: int):
        super().__init__(handlers)
        if not 1 <= batch_records <= MAX_BATCH_RECORDS:
            raise ValueError(f"batch_records must be 1-{MAX_BATCH_RECORDS}, got {batch_records}")
        self.batch_records = batch_records


class MessageProcessor:
    """Decides one record's outcome; independent of the poll loop so it can be tested and benchmarked alone.

    A response message (``MessageHeader.response`` set) carries the event code of the message it answers, so
    responses go to ``response_handlers`` and everything else to ``handlers``: a handler never sees the other kind.
    A response nobody handles is ignored; an event nobody handles is ignored too, unless ``ignore_unknown_events``
    is off (then it is dead-lettered)."""

    def __init__(self, engine: Engine, handlers: Handlers, response_handlers: Handlers | None = None, *,
                 ignore_unknown_events: bool = True):
        self._engine = engine
        self._handlers = handlers
        self._response_handlers = response_handlers or {}
        self._ignore_unknown = ignore_unknown_events
        # Records applied together only when the event handlers say they may be (``BatchHandlers``); a response
        # handler a service passes beside them must keep to the same rule.
        self.batch_records = handlers.batch_records if isinstance(handlers, BatchHandlers) else 1

    @property
    def engine(self) -> Engine:
        return self._engine

    def process(self, topic: str, value: bytes | None) -> str:
        """Return ``done`` or ``duplicate`` or ``ignored``; raise TransientError or PermanentError otherwise."""
        message, handler = self._route(value)
        if handler is None:
            return "ignored"
        try:
            with self._engine.begin() as conn:
                return self._apply(conn, topic, message, handler)
        except IntegrityError:
            # A concurrent consumer recorded the same message id first: its changes stand, ours rolled back.
            return "duplicate"

    def process_in(self, conn: Connection, topic: str, value: bytes | None) -> str:
        """``process`` inside the caller's transaction (a batch): every error, an IntegrityError too, is the
        caller's, who rolls the whole transaction back."""
        message, handler = self._route(value)
        if handler is None:
            return "ignored"
        return self._apply(conn, topic, message, handler)

    def _route(self, value: bytes | None) -> tuple[Message, Handler | None]:
        message = decode(value)
        is_response = message.response_to is not None
        handler = _handler_for(self._response_handlers if is_response else self._handlers, message.event_code)
        if handler is None and not (self._ignore_unknown or is_response):
            raise PermanentError(f"no handler for event {message.event_code!r}")
        return message, handler

    @staticmethod
    def _apply(conn: Connection, topic: str, message: Message, handler: Handler) -> str:
        if _already_processed(conn, message.message_id):
            return "duplicate"
        handler(message, conn)
        conn.execute(_RECORD_PROCESSED, {"message_id": message.message_id, "topic": topic,
                                         "event_code": message.event_code, "processed_at": utcnow()})
        return "done"


def _handler_for(handlers: Handlers, event_code: str) -> Handler | None:
    return handlers.get(event_code) or handlers.get(ANY_EVENT)


def decode(value: bytes | None) -> Message:
    if value is None:
        raise PermanentError("empty record")
    if too_deep(value):  # the parser recurses: refuse before it does, and never retry (it can never pass)
        raise PermanentError(f"JSON nested deeper than {DEFAULT_MAX_DEPTH} levels")
    try:
        payload = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise PermanentError(f"not JSON: {error.__class__.__name__}") from None
    try:
        return parse_message(payload)
    except MessageError as error:
        raise PermanentError(str(error)) from None


# Built once: building a statement per record cost more than SQLite running it.
_PROCESSED = select(processed_messages.c.message_id).where(processed_messages.c.message_id == bindparam("message_id"))
_RECORD_PROCESSED = processed_messages.insert()


def _already_processed(conn: Connection, message_id: str) -> bool:
    return conn.execute(_PROCESSED, {"message_id": message_id}).first() is not None
