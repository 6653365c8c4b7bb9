"""How an infusion session ended, as orders needs it to mark its series (documentation's ``session-completed``):
the series infusion the session was for, and whether it was given (on which day) or never began. The course reads
the same message for its own facts (dose, adverse events)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class GivenInfusion:
    """The session's infusion administration: the order it was given under and when it started."""

    order_id: str
    given_at: datetime


@dataclass(frozen=True)
class SessionOutcome:
    session_id: str  # ``{order id}-{infusion number}`` by documentation's convention
    patient_id: str
    infusion: GivenInfusion | None  # None: no administration recorded (deferred, aborted before it began ...)
    never_started: bool  # the Procedure was not done: the infusion never began

    @property
    def order_id(self) -> str | None:
        """The order of the series infusion: the administration's, else (a session that never began) the session
        id's; None when there is nothing to mark yet (stopped without an administration record: documentation
        sends the session again with it)."""
        if self.infusion is not None:
            return self.infusion.order_id
        if self.never_started:
            return self.session_id.rpartition("-")[0]
        return None

    def infusion_number(self, order_id: str) -> int | None:
        """The series infusion this session is for, from documentation's session id ``{order id}-{number}``."""
        prefix = f"{order_id}-"
        number = self.session_id.removeprefix(prefix)
        return int(number) if self.session_id.startswith(prefix) and number.isdigit() else None
