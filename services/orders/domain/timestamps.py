"""Timestamps in the orders domain: always timezone-aware, and taken to whole seconds when Ketalink stamps them."""
from __future__ import annotations

from datetime import datetime, timezone

from services.orders.domain.errors import OrdersInputError


def require_aware(moment: datetime, field: str) -> datetime:
    """Return ``moment``; a naive datetime is refused because clinic and EHR clocks may sit in different zones."""
    if not isinstance(moment, datetime):
        raise OrdersInputError(field, "expected a datetime")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise OrdersInputError(field, "timestamp must carry a timezone")
    return moment


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def current_moment(now: datetime | None) -> datetime:
    """``now`` (default: the UTC clock) to whole seconds, the precision FHIR instants carry, so a record sent to
    the EHR and read back keeps the same timestamps."""
    return require_aware(now or utc_now(), "now").replace(microsecond=0)
