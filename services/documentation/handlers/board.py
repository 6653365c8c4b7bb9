"""The suite board's read: the clinic day's sessions across patients, each as a board row (``domain/board.py``),
with what the EHR did with its messages. One read of the store per refresh; nothing is written."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.documentation.domain.board import BoardRow, board_row, board_rows, may_be_on_board, on_board
from services.documentation.handlers.core import ServiceCore
from services.documentation.messages import SESSION_KIND
from shared import ehr_delivery
from shared.ehr_delivery import RecordEhrStatus


@dataclass(frozen=True)
class Board:
    day: date  # the clinic day (the clinic's zone)
    as_of: datetime
    rows: list[BoardRow]
    ehr_statuses: dict[str, RecordEhrStatus]  # session id → what the EHR did with the session's messages


class BoardReads(ServiceCore):
    def board(self) -> Board:
        """Every session scheduled on the clinic day, and every session still at the clinic."""
        now = self._clock.now()
        day = now.astimezone(self._clinic_zone).date()
        with self._runtime.engine.connect() as conn:
            sessions = [session for session in self._records.sessions_where(
                conn, lambda document: may_be_on_board(document, day, self._clinic_zone))
                if on_board(session, day, self._clinic_zone)]
            orders = {order_id: self._records.order(conn, order_id).record
                      for order_id in {session.order_id for session in sessions}}
            alerts = {patient_id: len(self._records.open_suicidality_alerts(conn, patient_id))
                      for patient_id in {session.patient_id for session in sessions}}
            statuses = ehr_delivery.statuses_of(conn, SESSION_KIND, [session.session_id for session in sessions])
        rows = [board_row(session, orders[session.order_id], now, self._settings, alerts[session.patient_id])
                for session in sessions]
        return Board(day, now, board_rows(rows), statuses)
