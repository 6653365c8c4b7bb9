"""The service layer: every command of the documentation service, used by the HTTP views, the pages and the Kafka
handlers. Commands in (``commands.py``), domain objects out (``SessionState``, ``Recorded``, ``ProcedureNote`` …):
what the web shows is made of them by ``presenters.py``.

Each command reads what it needs (the EHR first, outside any transaction), lets the domain validate and decide,
then writes the record and its outbox events in one transaction (``messages`` says which messages a change
produces). A Kafka message is handled inside the consumer's transaction, which also records its id, so a
redelivered message changes nothing.

One class, written by topic: ``session`` (the session's steps), ``flowsheet`` (what is charted), ``note`` (the
procedure note), ``ehr_status`` (what the EHR did with the messages), ``board`` (the suite board's read),
``events`` (the Kafka handlers) on ``core`` (reads and the one-transaction step)."""
from __future__ import annotations

from services.documentation.handlers.board import BoardReads
from services.documentation.handlers.core import NotePreview, Recorded, SessionState, new_id
from services.documentation.handlers.ehr_status import EhrStatusSteps
from services.documentation.handlers.events import KafkaHandlers
from services.documentation.handlers.flowsheet import FlowsheetSteps
from services.documentation.handlers.note import NoteSteps
from services.documentation.handlers.session import SessionSteps

__all__ = ["DocumentationService", "NotePreview", "Recorded", "SessionState", "new_id"]


class DocumentationService(SessionSteps, FlowsheetSteps, NoteSteps, EhrStatusSteps, BoardReads, KafkaHandlers):
    """The documentation service layer (``bootstrap`` builds one per process)."""
