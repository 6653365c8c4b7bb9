"""Held records on the operations page and in the CLI: the records a consumer set aside because they kept failing
(``shared/events/held.py``), listed, released (retried now, in key order) or discarded, each release or discard
audited in the same transaction as the change."""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from sqlalchemy.engine import Engine

from shared.ops import audit


class HeldRecordsUnavailable(RuntimeError):
    """This build has no held records (``shared.events.held`` is missing)."""


def _held_module() -> ModuleType:
    try:
        return importlib.import_module("shared.events.held")
    except ModuleNotFoundError as error:
        if error.name != "shared.events.held":
            raise
        raise HeldRecordsUnavailable("held records are not available in this build") from None


def available() -> bool:
    try:
        _held_module()
    except HeldRecordsUnavailable:
        return False
    return True


def list_held(engine: Engine, consumer_name: str) -> list[Any]:
    held = _held_module()
    with engine.connect() as conn:
        return list(held.list_held(conn, consumer_name))


def act(engine: Engine, service: str, consumer_name: str, held_id: int, action: str, reason: str,
        actor: str) -> Any:
    """``action``: ``release`` or ``discard``. Only this service's consumer's records; audited with the change."""
    held = _held_module()
    reason = audit.checked_reason(reason)
    change = {"release": held.release, "discard": held.discard}[action]
    audited = {"release": audit.HELD_RELEASE, "discard": audit.HELD_DISCARD}[action]
    with engine.begin() as conn:
        try:
            if held.get_held(conn, held_id).consumer != consumer_name:
                raise LookupError(f"not held by {consumer_name}")
            record = change(conn, held_id)
        except LookupError as error:
            raise audit.OpsUsageError(f"held record {held_id}: {error}") from None
        except ValueError as error:  # the action does not apply in the record's state (already discarded, ...)
            raise audit.OpsConflict(f"held record {held_id}: {error}") from None
        audit.record(conn, service, audited, f"held:{held_id}", actor, reason, audit.DONE)
    return record
