"""Timestamps in the orders domain: always timezone-aware, and taken to whole seconds when Ketalink stamps them."""
from __future__ import annotations

from datetime import datetime, timezone

from services.orders.domain.checks import require_aware

__all__ = ["require_aware", "utc_now", "current_moment"]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def current_moment(now: datetime | None) -> datetime:
    """``now`` (default: the UTC clock) to whole seconds, the precision FHIR instants carry, so a record sent to
    the EHR and read back keeps the same timestamps."""
    return require_aware(now or utc_now(), "now").replace(microsecond=0)
