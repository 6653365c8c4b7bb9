"""Timestamp and date conversion for records stored as JSON documents: aware datetimes become ISO strings and come
back aware, so a stored record never loses its timezone."""
from __future__ import annotations

from datetime import date, datetime, timezone

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


def datetime_to_text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def datetime_from_text(text: str | None, field: str = "timestamp") -> datetime | None:
    if text is None:
        return None
    return require_aware(datetime.fromisoformat(text.replace("Z", "+00:00")), field)


def date_to_text(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def date_from_text(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def current_moment(now: datetime | None) -> datetime:
    """``now`` (default: the UTC clock) to whole seconds, the precision FHIR instants carry, so a record sent to
    the EHR and read back keeps the same timestamps."""
    return require_aware(now or utc_now(), "now").replace(microsecond=0)
