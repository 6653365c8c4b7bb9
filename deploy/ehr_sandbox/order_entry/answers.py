"""The orders service's answer to a placed order, as the CPOE shows it to the prescriber.

Ketalink answers each ``cpoe-order-placed`` with a response message ``cpoe-order-response`` on
``ketalink.orders.events`` (``MessageHeader.response``: the placed message's id and ``ok`` / ``fatal-error``, with an
OperationOutcome: the accepted order's Ketalink id, or one issue per reason it was refused). The sandbox's
integration engine reads that topic; ``response_handlers`` gives its consumer the handler that keeps each answer in
order entry's store, and the order's page shows it when it has arrived (``answer_view``)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from deploy.ehr_sandbox.order_entry.entries import Entries, StoredAnswer
from shared.events.event_codes import CPOE_ORDER_RESPONSE
from shared.fhir.messaging import Message

STORE_FILE = "order-entry.db"
#: What the prescriber is told, by response code.
HEADLINES = {"ok": "Accepted by Ketalink", "fatal-error": "Refused by Ketalink",
             "transient-error": "Not processed yet: Ketalink will try again"}


@dataclass(frozen=True)
class AnswerView:
    status: str  # waiting | accepted | refused | retrying
    headline: str
    lines: tuple[str, ...] = ()  # the OperationOutcome's issues in words (a refusal's reasons)


def answer_view(answer: StoredAnswer | None) -> AnswerView:
    """The answer in words; ``waiting`` until one arrived."""
    if answer is None:
        return AnswerView("waiting", "Waiting for Ketalink's answer")
    status = {"ok": "accepted", "fatal-error": "refused"}.get(answer.response_code, "retrying")
    headline = HEADLINES.get(answer.response_code, f"Answered {answer.response_code}")
    return AnswerView(status, headline, tuple(_issue_text(issue) for issue in answer.outcome.get("issue", [])
                                              if isinstance(issue, dict)))


def _issue_text(issue: dict[str, Any]) -> str:
    text = (issue.get("details") or {}).get("text") or issue.get("diagnostics") or issue.get("code") or "no reason"
    where = ", ".join(str(e) for e in issue.get("expression") or [] if e)
    return f"{text} ({where})" if where and issue.get("severity") in ("error", "fatal") else str(text)


def response_handlers(data_dir: Path, entries: Entries | None = None
                      ) -> dict[str, Callable[[Message, Connection], None]]:
    """The integration engine's handler of ``cpoe-order-response``: keep the answer for the order's page. The
    engine's consumer marks the message processed in its own transaction; recording the same answer again (a
    redelivery) replaces it with itself."""
    store = entries or Entries(data_dir / STORE_FILE, release_claims=False)

    def record(message: Message, _conn: Connection) -> None:
        if message.response_to is None or message.response_code is None:
            return
        store.record_answer(message.response_to, message.response_code.value,
                            message.first("OperationOutcome") or {})

    return {CPOE_ORDER_RESPONSE: record}
