"""SMART App Launch scopes: parsing (v2 ``patient/Observation.rs`` and v1 ``patient/Observation.read``), the v1
fallback for servers that do not offer v2, and the decision whether a grant allows one action on one resource type
for one patient.

Pure functions and values only, no Flask or HTTP: the same rules serve the Flask guard, the tests and any worker.
"""
from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

#: SMART v2 interactions, in the order the letters must appear in a scope (``cruds``).
ACTIONS = "cruds"
ACTION_NAMES = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}
V1_ACTIONS = {"read": frozenset("rs"), "write": frozenset("cud"), "*": frozenset(ACTIONS)}

_RESOURCE_SCOPE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.([a-z*]+)(?:\?(.+))?$")


class ScopeContext(str, enum.Enum):
    PATIENT = "patient"
    USER = "user"
    SYSTEM = "system"


@dataclass(frozen=True)
class ResourceScope:
    """One clinical-data scope. ``query`` holds granular v2 search parameters (``?category=vital-signs``)."""

    context: ScopeContext
    resource_type: str  # a FHIR resource type or "*"
    actions: frozenset[str]
    query: str = ""
    v1: bool = False

    def covers(self, resource_type: str, action: str) -> bool:
        """True when this scope alone allows ``action`` on every resource of ``resource_type``. A granular scope
        (with ``?...``) allows only a subset that the caller cannot check here, so it never covers a whole type."""
        return not self.query and self.resource_type in ("*", resource_type) and action in self.actions


def parse_scope(text: str) -> ResourceScope | None:
    """The clinical-data scope ``text`` stands for, or None for any other scope (launch, openid, fhirUser, ...)
    and for malformed ones (``patient/Observation.sr``: v2 letters out of order are not a valid scope)."""
    match = _RESOURCE_SCOPE.match(text.strip())
    if not match:
        return None
    context, resource_type, permission, query = match.groups()
    if permission in V1_ACTIONS:
        return ResourceScope(ScopeContext(context), resource_type, V1_ACTIONS[permission], query or "", v1=True)
    if not _is_v2_permission(permission):
        return None
    return ResourceScope(ScopeContext(context), resource_type, frozenset(permission), query or "")


def _is_v2_permission(letters: str) -> bool:
    positions = [ACTIONS.find(letter) for letter in letters]
    return bool(letters) and -1 not in positions and positions == sorted(set(positions))


def is_resource_scope(text: str) -> bool:
    return parse_scope(text) is not None


def split_scopes(scope: str | Iterable[str] | None) -> list[str]:
    if scope is None:
        return []
    return scope.split() if isinstance(scope, str) else [s for part in scope for s in part.split()]


def to_v1(scope: str) -> str:
    """The SMART v1 equivalent of a v2 scope (``patient/*.rs`` → ``patient/*.read``; ``user/*.cruds`` →
    ``user/*.*``); other scopes are returned unchanged. A granular query has no v1 form, so it is dropped (the v1
    scope is broader: the server still bounds it to what the user may see)."""
    parsed = parse_scope(scope)
    if parsed is None or parsed.v1:
        return scope
    reads, writes = parsed.actions & V1_ACTIONS["read"], parsed.actions & V1_ACTIONS["write"]
    permission = "*" if reads and writes else ("read" if reads else "write")
    return f"{parsed.context.value}/{parsed.resource_type}.{permission}"


def scopes_for_server(requested: str, server_supports_v2: bool) -> str:
    """The scope string to request: as configured when the server offers v2, else its v1 form (deduplicated)."""
    if server_supports_v2:
        return " ".join(split_scopes(requested))
    converted: list[str] = []
    for scope in split_scopes(requested):
        v1 = to_v1(scope)
        if v1 not in converted:
            converted.append(v1)
    return " ".join(converted)


class Decision(enum.Enum):
    ALLOWED = "allowed"
    NO_SCOPE = "no-scope"  # no granted scope covers the action on that type
    OTHER_PATIENT = "other-patient"  # only patient-level scopes cover it, and the record belongs to someone else
    NO_PATIENT_CONTEXT = "no-patient-context"  # only patient-level scopes cover it, and the grant has no patient
    NOT_PATIENT_BOUND = "not-patient-bound"  # only patient-level scopes cover it, and the target names no patient


def decide(granted: Iterable[str], resource_type: str, action: str, *, context_patient: str | None,
           record_patient: str | None) -> Decision:
    """May a grant with ``granted`` scopes (and ``context_patient`` from the launch) perform ``action`` (one of
    ``c r u d s``) on ``resource_type`` belonging to ``record_patient`` (None: not patient-specific)?

    A user- or system-level scope allows it outright (the EHR already bounds it to what the user may see). A
    patient-level scope allows it only for the patient in context: a patient-scoped token may not touch another
    patient's records, nor records that belong to no patient, nor anything when the grant carries no patient.
    """
    if action not in ACTIONS or len(action) != 1:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
    covering = [parsed for parsed in map(parse_scope, split_scopes(list(granted)))
                if parsed is not None and parsed.covers(resource_type, action)]
    if any(scope.context is not ScopeContext.PATIENT for scope in covering):
        return Decision.ALLOWED
    if not covering:
        return Decision.NO_SCOPE
    if not context_patient:
        return Decision.NO_PATIENT_CONTEXT
    if record_patient is None:
        return Decision.NOT_PATIENT_BOUND
    if record_patient != context_patient:
        return Decision.OTHER_PATIENT
    return Decision.ALLOWED


def scope_needed(resource_type: str, action: str) -> str:
    """The narrowest v2 scopes that would allow the action, for messages."""
    return f"patient/{resource_type}.{action} or user/{resource_type}.{action}"
