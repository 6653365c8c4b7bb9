"""What the EHR did with the session's and the note's messages (``shared/ehr_delivery``): each record's status for
its pages and JSON, and the service's part of the clinic's "not in the EHR" list. The answers themselves are kept
by ``events.on_ehr_response``."""
from __future__ import annotations

from services.documentation.handlers.core import ServiceCore
from shared import ehr_delivery
from shared.db import utcnow
from shared.ehr_delivery import Delivery, EhrStatusSettings, RecordEhrStatus


class EhrStatusSteps(ServiceCore):
    def ehr_statuses(self, record_kind: str, record_ids: list[str]) -> dict[str, RecordEhrStatus]:
        """Each record's status (``messages.SESSION_KIND`` or ``NOTE_KIND``); status None where nothing was sent."""
        with self._runtime.engine.connect() as conn:
            return ehr_delivery.statuses_of(conn, record_kind, record_ids)

    def ehr_status(self, record_kind: str, record_id: str) -> RecordEhrStatus:
        return self.ehr_statuses(record_kind, [record_id])[record_id]

    def not_in_ehr(self, settings: EhrStatusSettings) -> list[Delivery]:
        """The messages the EHR refused, is retrying or has not answered for longer than the setting."""
        with self._runtime.engine.connect() as conn:
            return ehr_delivery.outstanding(conn, settings, utcnow())
