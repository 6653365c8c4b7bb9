"""The authorization server's state in ``<data dir>/smart.db`` (SQLite): launch contexts minted by the chart,
authorization codes, issued tokens (by access-token ``jti`` and refresh-token hash) and used client-assertion ids.
Kept on disk, like the FHIR data, so a sandbox restart does not log every app out. Its signing key lives beside it."""
from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import (
    Boolean, Column, Float, Integer, MetaData, String, Table, Text, create_engine, delete, select, update,
)
from sqlalchemy.exc import IntegrityError

from shared.smart.sessions import digest

metadata = MetaData()

launches = Table(
    "launches", metadata,
    Column("launch_id", String(64), primary_key=True),
    Column("patient", String(64), nullable=False),
    Column("encounter", String(64), nullable=True),
    Column("expires_at", Float, nullable=False),
)

#: Launches from the clinician's workspace (no patient, no encounter), each for one app: a table of their own so a
#: patient launch's row can never lose its patient, and so the sandbox's existing smart.db needs no change.
user_launches = Table(
    "user_launches", metadata,
    Column("launch_id", String(64), primary_key=True),
    Column("client_id", String(200), nullable=False),
    Column("expires_at", Float, nullable=False),
)

codes = Table(
    "codes", metadata,
    Column("code", String(128), primary_key=True),
    Column("client_id", String(200), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("username", String(100), nullable=False),
    Column("patient", String(64), nullable=True),
    Column("encounter", String(64), nullable=True),
    Column("need_patient_banner", Boolean, nullable=False),
    Column("nonce", String(200), nullable=True),
    Column("code_challenge", String(200), nullable=True),
    Column("code_challenge_method", String(20), nullable=True),
    Column("auth_time", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),
)

tokens = Table(
    "tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("access_jti", String(64), nullable=False, unique=True),
    Column("refresh_hash", String(64), nullable=True, unique=True),
    Column("client_id", String(200), nullable=False),
    Column("username", String(100), nullable=False),
    Column("scope", Text, nullable=False),
    Column("patient", String(64), nullable=True),
    Column("encounter", String(64), nullable=True),
    Column("need_patient_banner", Boolean, nullable=False),
    Column("issued_at", Float, nullable=False),
    Column("access_expires_at", Float, nullable=False),
    Column("refresh_expires_at", Float, nullable=True),
    Column("revoked", Boolean, nullable=False, default=False),
)

assertion_ids = Table(
    "assertion_ids", metadata,
    Column("jti", String(200), primary_key=True),
    Column("expires_at", Float, nullable=False),
)


@dataclass(frozen=True)
class Launch:
    """What a ``launch`` id stands for: a patient's chart (patient and clinic visit, any registered app) or the
    clinician's workspace (no patient, no encounter, only the app it was minted for: ``client_id``)."""

    patient: str | None
    encounter: str | None
    client_id: str | None = None

    @property
    def from_workspace(self) -> bool:
        return self.patient is None


@dataclass(frozen=True)
class LaunchContext:
    """Who the grant is for: the clinician, and the patient (and encounter) in context."""

    username: str
    patient: str | None
    encounter: str | None
    need_patient_banner: bool
    auth_time: int = 0

    def get_user_id(self) -> str:  # Authlib's user protocol
        return self.username


@dataclass(frozen=True)
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    username: str
    patient: str | None
    encounter: str | None
    need_patient_banner: bool
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int
    expires_at: float

    # Authlib's AuthorizationCodeMixin and its OpenID additions
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None

    def context(self) -> LaunchContext:
        return LaunchContext(self.username, self.patient, self.encounter, self.need_patient_banner, self.auth_time)


@dataclass(frozen=True)
class IssuedToken:
    id: int
    access_jti: str
    refresh_hash: str | None
    client_id: str
    username: str
    scope: str
    patient: str | None
    encounter: str | None
    need_patient_banner: bool
    issued_at: float
    access_expires_at: float
    refresh_expires_at: float | None
    revoked: bool

    # Authlib's TokenMixin
    def check_client(self, client: Any) -> bool:
        return self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int(self.access_expires_at - self.issued_at)

    def is_expired(self) -> bool:
        return self.access_expires_at <= time.time()

    def is_revoked(self) -> bool:
        return self.revoked

    def refresh_usable(self) -> bool:
        return not self.revoked and self.refresh_expires_at is not None and self.refresh_expires_at > time.time()

    def context(self) -> LaunchContext:
        return LaunchContext(self.username, self.patient, self.encounter, self.need_patient_banner)


class AuthStore:
    def __init__(self, data_dir: Path):
        data_dir.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(f"sqlite:///{data_dir / 'smart.db'}",
                                    connect_args={"timeout": 30, "check_same_thread": False})
        metadata.create_all(self.engine)
        self.signing_key = _signing_key(data_dir / "smart-signing-key.json")

    @property
    def key_set(self) -> KeySet:
        return KeySet([self.signing_key])

    # -- launches --------------------------------------------------------------------------------------------
    def mint_launch(self, patient: str, encounter: str | None, lifetime_s: float) -> str:
        launch_id = secrets.token_urlsafe(16)
        with self.engine.begin() as conn:
            conn.execute(delete(launches).where(launches.c.expires_at < time.time()))
            conn.execute(launches.insert().values(launch_id=launch_id, patient=patient, encounter=encounter,
                                                  expires_at=time.time() + lifetime_s))
        return launch_id

    def mint_user_launch(self, client_id: str, lifetime_s: float) -> str:
        """A launch from the workspace: no patient and no encounter, good for ``client_id`` only."""
        launch_id = secrets.token_urlsafe(16)
        with self.engine.begin() as conn:
            conn.execute(delete(user_launches).where(user_launches.c.expires_at < time.time()))
            conn.execute(user_launches.insert().values(launch_id=launch_id, client_id=client_id,
                                                       expires_at=time.time() + lifetime_s))
        return launch_id

    def launch(self, launch_id: str) -> Launch | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(launches).where(launches.c.launch_id == launch_id,
                                                      launches.c.expires_at > time.time())).first()
            if row is not None:
                return Launch(row.patient, row.encounter)
            row = conn.execute(select(user_launches).where(user_launches.c.launch_id == launch_id,
                                                           user_launches.c.expires_at > time.time())).first()
        return Launch(None, None, row.client_id) if row else None

    # -- codes -----------------------------------------------------------------------------------------------
    def save_code(self, code: AuthorizationCode) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(codes).where(codes.c.expires_at < time.time()))
            conn.execute(codes.insert().values(**code.__dict__))

    def code(self, code: str, client_id: str) -> AuthorizationCode | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(codes).where(codes.c.code == code, codes.c.client_id == client_id,
                                                   codes.c.expires_at > time.time())).mappings().first()
        return AuthorizationCode(**row) if row else None

    def delete_code(self, code: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(codes).where(codes.c.code == code))

    # -- tokens ----------------------------------------------------------------------------------------------
    def save_token(self, *, access_jti: str, refresh_token: str | None, client_id: str, context: LaunchContext,
                   scope: str, access_expires_at: float, refresh_lifetime_s: float) -> None:
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(tokens.insert().values(
                access_jti=access_jti, refresh_hash=digest(refresh_token) if refresh_token else None,
                client_id=client_id, username=context.username, scope=scope, patient=context.patient,
                encounter=context.encounter, need_patient_banner=context.need_patient_banner, issued_at=now,
                access_expires_at=access_expires_at,
                refresh_expires_at=now + refresh_lifetime_s if refresh_token else None, revoked=False))

    def by_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        return self._token(tokens.c.refresh_hash == digest(refresh_token))

    def by_access_jti(self, jti: str) -> IssuedToken | None:
        return self._token(tokens.c.access_jti == jti)

    def _token(self, condition: Any) -> IssuedToken | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(tokens).where(condition)).mappings().first()
        return IssuedToken(**row) if row else None

    def revoke(self, token_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(tokens).where(tokens.c.id == token_id).values(revoked=True))

    # -- client assertions -----------------------------------------------------------------------------------
    def first_use_of_assertion(self, jti: str, expires_at: float) -> bool:
        """False when this client assertion id was seen before (a replayed assertion)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(assertion_ids).where(assertion_ids.c.expires_at < time.time() - 600))
                conn.execute(assertion_ids.insert().values(jti=jti, expires_at=expires_at))
        except IntegrityError:
            return False
        return True


def _signing_key(path: Path) -> RSAKey:
    """The sandbox's RS256 signing key (access and id tokens), created once and kept in the data directory."""
    if path.exists():
        return RSAKey.import_key(json.loads(path.read_text()))
    key = RSAKey.generate_key(2048, private=True)
    key = RSAKey.import_key(key.as_dict(private=True) | {"kid": key.thumbprint(), "use": "sig", "alg": "RS256"})
    path.write_text(json.dumps(key.as_dict(private=True)))
    path.chmod(0o600)
    return key
