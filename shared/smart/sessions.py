"""Server-side SMART sessions and launches in progress, in the service's own SQL store.

The browser holds only random ids: the session cookie (→ tokens and launch context here) and a launch-binding
cookie (→ the ``state`` and PKCE verifier of a launch it started, so a callback from another browser is refused).
Only SHA-256 hashes of those ids are stored, so a copy of the table does not let anyone take over a session.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Boolean, Column, Float, Integer, String, Table, Text, delete, select, update
from sqlalchemy.engine import Engine

from shared.db import metadata

smart_launches = Table(
    "smart_launches", metadata,
    Column("state", String(128), primary_key=True),
    Column("browser_hash", String(64), nullable=False),
    Column("iss", String(500), nullable=False),
    Column("launch", String(500), nullable=True),
    Column("code_verifier", String(128), nullable=False),
    Column("redirect_uri", String(500), nullable=False),
    Column("scope", Text, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)

smart_sessions = Table(
    "smart_sessions", metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("iss", String(500), nullable=False),
    Column("access_token", Text, nullable=False),
    Column("access_expires_at", Float, nullable=True),  # None: the EHR gave no expires_in
    Column("refresh_token", Text, nullable=True),
    Column("id_token", Text, nullable=True),
    Column("scope", Text, nullable=False),
    Column("patient", String(64), nullable=True),
    Column("encounter", String(64), nullable=True),
    Column("fhir_user", String(500), nullable=True),
    Column("need_patient_banner", Boolean, nullable=False, default=True),
    Column("context", Text, nullable=False),  # the rest of the token response (fhirContext, smart_style_url, ...)
    Column("version", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)

_TOKEN_FIELDS = {"access_token", "refresh_token", "id_token", "token_type", "expires_in", "expires_at", "scope",
                 "patient", "encounter", "fhirUser", "need_patient_banner"}


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class PendingLaunch:
    state: str
    browser_hash: str
    iss: str
    launch: str | None
    code_verifier: str
    redirect_uri: str
    scope: str
    expires_at: float


@dataclass(frozen=True)
class SmartSession:
    session_hash: str
    iss: str
    access_token: str
    access_expires_at: float | None
    refresh_token: str | None
    id_token: str | None
    scope: str
    patient: str | None
    encounter: str | None
    fhir_user: str | None
    need_patient_banner: bool
    context: dict[str, Any] = field(default_factory=dict)
    version: int = 1
    created_at: float = 0.0
    expires_at: float = 0.0

    def access_token_due(self, now: float, margin_s: float) -> bool:
        return self.access_expires_at is not None and self.access_expires_at - margin_s <= now

    def with_tokens(self, token: dict[str, Any], now: float) -> "SmartSession":
        """This session after a refresh: new tokens; context kept unless the EHR sent it again."""
        return replace(
            self, access_token=token["access_token"], access_expires_at=_expires_at(token, now),
            refresh_token=token.get("refresh_token") or self.refresh_token,
            id_token=token.get("id_token") or self.id_token, scope=token.get("scope") or self.scope,
            patient=token.get("patient") or self.patient, encounter=token.get("encounter") or self.encounter,
            fhir_user=token.get("fhirUser") or self.fhir_user)


def session_from_token(session_hash: str, iss: str, token: dict[str, Any], requested_scope: str, fhir_user: str | None,
                       now: float, lifetime_s: float) -> SmartSession:
    return SmartSession(
        session_hash=session_hash, iss=iss, access_token=token["access_token"],
        access_expires_at=_expires_at(token, now), refresh_token=token.get("refresh_token"),
        id_token=token.get("id_token"),
        # RFC 6749 5.1: a response without scope granted what was asked for
        scope=token.get("scope") or requested_scope,
        patient=optional_text(token.get("patient")), encounter=optional_text(token.get("encounter")),
        fhir_user=fhir_user,
        need_patient_banner=bool(token.get("need_patient_banner", True)),
        context={k: v for k, v in token.items() if k not in _TOKEN_FIELDS},
        created_at=now, expires_at=now + lifetime_s)


def _expires_at(token: dict[str, Any], now: float) -> float | None:
    try:
        return now + float(token["expires_in"])
    except (KeyError, TypeError, ValueError):
        return None


def optional_text(value: Any) -> str | None:
    """A context value from a token response or claims as text; None when absent or empty."""
    return str(value) if value not in (None, "") else None


class SessionStore:
    def __init__(self, engine: Engine):
        self._engine = engine
        metadata.create_all(engine, tables=[smart_launches, smart_sessions])

    # -- launches in progress --------------------------------------------------------------------------------
    def save_launch(self, pending: PendingLaunch) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(smart_launches).where(smart_launches.c.expires_at < time.time()))
            conn.execute(smart_launches.insert().values(**pending.__dict__))

    def take_launch(self, state: str) -> PendingLaunch | None:
        """The launch with this ``state``, removed so that it serves one callback only; None if unknown/expired."""
        with self._engine.begin() as conn:
            row = conn.execute(select(smart_launches).where(smart_launches.c.state == state)).mappings().first()
            if row is None:
                return None
            conn.execute(delete(smart_launches).where(smart_launches.c.state == state))
        pending = PendingLaunch(**row)
        return pending if pending.expires_at > time.time() else None

    # -- sessions ----------------------------------------------------------------------------------------------
    def create(self, session: SmartSession) -> None:
        values = _row(session)
        with self._engine.begin() as conn:
            conn.execute(delete(smart_sessions).where(smart_sessions.c.expires_at < time.time()))
            conn.execute(smart_sessions.insert().values(**values))

    def get(self, session_hash: str) -> SmartSession | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(smart_sessions).where(smart_sessions.c.session_hash == session_hash)
                               ).mappings().first()
        if row is None:
            return None
        values = dict(row)
        values["context"] = json.loads(values["context"])
        return SmartSession(**values)

    def replace_tokens(self, current: SmartSession, refreshed: SmartSession) -> bool:
        """Store a refresh's result unless another request refreshed this session first (then False)."""
        values = _row(refreshed)
        values.pop("session_hash")
        values["version"] = current.version + 1
        with self._engine.begin() as conn:
            result = conn.execute(update(smart_sessions).where(
                smart_sessions.c.session_hash == current.session_hash,
                smart_sessions.c.version == current.version).values(**values))
        return result.rowcount == 1

    def delete(self, session_hash: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(smart_sessions).where(smart_sessions.c.session_hash == session_hash))


def _row(session: SmartSession) -> dict[str, Any]:
    values = dict(session.__dict__)
    values["context"] = json.dumps(session.context)
    return values
