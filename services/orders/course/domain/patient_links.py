"""The patient's questionnaire link: single use, time-limited, no sign-in, and nothing about the patient in it.

The URL carries only an opaque random token of 256 bits (``secrets.token_urlsafe(32)``), so it cannot be guessed
and says nothing if it is seen; the store keeps only the token's SHA-256, so a copy of the database cannot fill a
questionnaire either. The link names its course and scale in the store, never in the URL. Each link has one
``measurement_id`` fixed when it is made (``patient-link-{link id}``): a submission retried after it was recorded
is the same measurement, so it can never be counted twice, and the link is marked used in the same transaction as
the score.

``LinkState`` is what the patient page answers: open (the form), used (410: "already sent"), expired (410), unknown
(404). The pages say no more than that: not whose link it was, nor when it was made."""
from __future__ import annotations

import enum
import hashlib
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.orders.course.domain.errors import CourseInputError
from shared.scales import Scale

TOKEN_BYTES = 32  # 256 bits of randomness, base64url: 43 characters
TOKEN_MIN_LENGTH = 40
TOKEN_MAX_LENGTH = 64


class LinkState(enum.Enum):
    OPEN = "open"
    USED = "used"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PatientLink:
    link_id: str
    token_hash: str
    course_id: str
    patient_id: str
    scale: Scale
    created_at: datetime
    expires_at: datetime
    created_by: str  # the clinician's reference (Practitioner/...), never a name typed
    used_at: datetime | None = None

    @property
    def measurement_id(self) -> str:
        return measurement_id_of(self.link_id)

    def state(self, now: datetime) -> LinkState:
        if self.used_at is not None:
            return LinkState.USED
        return LinkState.EXPIRED if now >= self.expires_at else LinkState.OPEN


def measurement_id_of(link_id: str) -> str:
    return f"patient-link-{link_id}"


def new_token() -> str:
    """A fresh link token (URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the store keeps of a token: its SHA-256 (hex). A 256-bit random token needs no salt or slow hash: it
    cannot be found by trying guesses against the hash."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def plausible_token(token: str) -> bool:
    """A token of the shape ``new_token`` makes; anything else is unknown without a look-up."""
    return TOKEN_MIN_LENGTH <= len(token) <= TOKEN_MAX_LENGTH and all(
        c.isascii() and (c.isalnum() or c in "-_") for c in token)


def new_link(course_id: str, patient_id: str, scale: Scale, created_by: str, now: datetime,
             validity_hours: int) -> tuple[PatientLink, str]:
    """A new link and its token (shown once to the clinician, never stored)."""
    if not created_by:
        raise CourseInputError("created_by", "a link is made by a signed-in clinician")
    token = new_token()
    link = PatientLink(secrets.token_hex(16), token_hash(token), course_id, patient_id, scale, now,
                       now + timedelta(hours=validity_hours), created_by)
    return link, token


class RequestLimiter:
    """At most ``per_minute`` requests per key (the client's address) in any 60 s: a sliding window kept in
    memory for the ``max_keys`` most recent keys. Guessing tokens is hopeless anyway (256 bits); this stops a
    client from hammering the unauthenticated pages."""

    def __init__(self, per_minute: int, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self._per_minute = per_minute
        self._max_keys = max_keys
        self._clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        with self._lock:
            return self._allow(key, self._clock())

    def _allow(self, key: str, now: float) -> bool:
        hits = self._hits.pop(key, None) or deque()
        while hits and now - hits[0] >= 60:
            hits.popleft()
        allowed = len(hits) < self._per_minute
        if allowed:
            hits.append(now)
        self._hits[key] = hits
        while len(self._hits) > self._max_keys:
            self._hits.popitem(last=False)
        return allowed
