"""A CDS Hooks feedback request read and bounded: one item per card the prescriber acted on (``accepted`` with the
suggestions taken, ``overridden`` with the reason chosen, or ``ignored``), each with its outcome time, which makes a
retry of the same feedback recognisable. Feedback names no user or patient: each item is attributed through its
card, which must be one this service returned to the same EHR (``attribute``)."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from shared.web import ApiError
from services.orders.cds_hooks.store import CardFeedback, IssuedCard

OUTCOMES = ("accepted", "overridden", "ignored")
MAX_ITEMS = 50
MAX_COMMENT = 1_000
#: An RFC 3339 date-time with its offset (what CDS Hooks' outcomeTimestamp is; not every ISO 8601 form).
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


def read_feedback(body: Any) -> list[CardFeedback]:
    items = body.get("feedback") if isinstance(body, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise _bad("feedback", f"feedback must be an array of 1-{MAX_ITEMS} items")
    return [_item(item, f"feedback[{index}]") for index, item in enumerate(items)]


def attribute(items: list[CardFeedback], issued: dict[str, IssuedCard], service_id: str, iss: str) -> None:
    """Every item's card was returned by this service to this EHR (within the retention); otherwise a 400 naming
    the item's card, the same for a card never returned and another EHR's card (which is not told apart)."""
    for index, item in enumerate(items):
        card = issued.get(item.card_uuid)
        if card is None or card.service_id != service_id or card.iss != iss:
            raise _bad(f"feedback[{index}].card", "card is not one this CDS service returned to this EHR "
                                                  "(or its retention has passed)")


def _item(item: Any, where: str) -> CardFeedback:
    if not isinstance(item, dict):
        raise _bad(where, "each feedback item must be an object")
    card = item.get("card")
    if not isinstance(card, str) or not 1 <= len(card) <= 100:
        raise _bad(f"{where}.card", "card must be the uuid of a card this service returned")
    outcome = item.get("outcome")
    if outcome not in OUTCOMES:
        raise _bad(f"{where}.outcome", f"outcome must be one of {', '.join(OUTCOMES)}")
    at = _instant(item.get("outcomeTimestamp"), f"{where}.outcomeTimestamp")
    reason = item.get("overrideReason")
    if outcome == "overridden":
        reason = _override_reason(reason, f"{where}.overrideReason")
    elif "overrideReason" in item:  # a JSON null too: it says nothing its absence does not
        raise _bad(f"{where}.overrideReason", "an overrideReason goes with the overridden outcome only")
    accepted = item.get("acceptedSuggestions", [])
    if not isinstance(accepted, list) or len(accepted) > 10 or not all(
            isinstance(s, dict) and isinstance(s.get("id"), str) and len(s["id"]) <= 100 for s in accepted):
        raise _bad(f"{where}.acceptedSuggestions", "acceptedSuggestions must be a list of {id}")
    if accepted and outcome != "accepted":
        raise _bad(f"{where}.acceptedSuggestions", "suggestions are accepted with the accepted outcome only")
    return CardFeedback(card, outcome, at, reason, tuple(s["id"] for s in accepted))


def _override_reason(reason: Any, where: str) -> dict[str, Any]:
    """The reason the prescriber chose (one of the card's ``overrideReasons``) and an optional comment."""
    if not isinstance(reason, dict):
        raise _bad(where, "an overridden card needs the overrideReason chosen")
    coding = reason.get("reason")
    if not isinstance(coding, dict) or not isinstance(coding.get("code"), str) or \
            not isinstance(coding.get("system"), str) or len(coding["code"]) > 100 or len(coding["system"]) > 300:
        raise _bad(f"{where}.reason", "overrideReason.reason must be a Coding with system and code")
    comment = reason.get("userComment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        raise _bad(f"{where}.userComment", f"userComment must be text of at most {MAX_COMMENT} characters")
    kept: dict[str, Any] = {"reason": {"system": coding["system"], "code": coding["code"]}}
    if isinstance(coding.get("display"), str):
        kept["reason"]["display"] = coding["display"][:300]
    if comment:
        kept["userComment"] = comment
    return kept


def _instant(value: Any, where: str) -> datetime:
    if not isinstance(value, str) or not INSTANT.fullmatch(value):
        raise _bad(where, "outcomeTimestamp must be an instant with its offset")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(where, "outcomeTimestamp must be an instant with its offset") from None
    if moment.tzinfo is None:
        raise _bad(where, "outcomeTimestamp must carry its offset (Z or +hh:mm)")
    if not 2000 <= moment.year <= 2999:  # no outcome happened earlier; a far year only overflows the store
        raise _bad(where, "outcomeTimestamp must be an instant of this era (years 2000-2999)")
    return moment.astimezone(timezone.utc)


def _bad(where: str, message: str) -> ApiError:
    return ApiError(400, message, code="invalid", expression=where)
