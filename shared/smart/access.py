"""What a view may do: the SMART context of the current request, ``require()`` inside a view and ``@requires`` on
a view (checked before the body is even parsed), both answering 401/403 with an OperationOutcome.

Patient binding: a context with a patient (an EHR launch from a patient's chart, a standalone launch that picked
one, a token carrying ``patient``) reaches only that patient, whatever its scopes. A user-level scope
(``user/*.cruds``) lets the EHR decide which patients the user may see, but a session opened from patient A's chart
must not read or write patient B through the JSON API any more than through the pages. So an operation on another
patient's record is refused, and so is one whose patient is unknown (a list across patients, the outcomes export,
a record that does not exist), unless the operation declares that it touches no patient's record."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import g, request

from shared.smart.scopes import ACTIONS, ACTION_NAMES, Decision, decide, scope_needed, split_scopes

PatientSource = Callable[[dict[str, Any]], "str | None"]


@dataclass(frozen=True)
class SmartContext:
    """Who is calling and for which patient. ``access_token`` is the EHR's token, to call the EHR's FHIR API as
    this user (``Authorization: Bearer``); never send it to the browser."""

    source: str  # "session" (the UI's cookie) or "bearer" (a machine call)
    iss: str  # the EHR's FHIR base URL
    access_token: str
    scopes: tuple[str, ...]
    patient: str | None
    encounter: str | None
    fhir_user: str | None
    need_patient_banner: bool = True
    client_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    session_hash: str | None = None  # the server-side session's key (SHA-256 of the cookie); None for bearer calls

    def public_json(self) -> dict[str, Any]:
        """What the UI may see (no tokens)."""
        return {"iss": self.iss, "patient": self.patient, "encounter": self.encounter, "fhirUser": self.fhir_user,
                "need_patient_banner": self.need_patient_banner, "scope": " ".join(self.scopes),
                **{k: v for k, v in self.extra.items() if k in ("fhirContext", "smart_style_url", "intent",
                                                                 "tenant")}}


class SmartAuthError(Exception):
    """401 (no or bad credentials: ``WWW-Authenticate`` says why) or 403 (credentials lack a scope or the patient)."""

    def __init__(self, status: int, message: str, *, oauth_error: str | None = None, scope: str | None = None,
                 page: str = "error", title: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.oauth_error = oauth_error
        self.scope = scope
        self.page = page
        self.title = title

    @property
    def fhir_code(self) -> str:
        return {401: "login", 403: "forbidden", 502: "transient"}.get(self.status, "invalid")


def current_context() -> SmartContext | None:
    """The SMART context of this request; None only where ``SMART_AUTH_REQUIRED=false`` and none was sent."""
    return g.get("smart_context")


def require(resource_type: str, action: str, patient_id: str | None = None, *,
            touches_no_patient: bool = False) -> SmartContext | None:
    """Raise 401/403 unless the current token may do ``action`` (any of ``c r u d s``: each letter needed) on
    ``resource_type`` of ``patient_id``'s record. A context with a patient reaches that patient only: ``patient_id``
    must be it, whatever the scopes; None (the request names no patient) is refused to it unless
    ``touches_no_patient`` (the operation reads and writes no patient's record)."""
    context = current_context()
    if context is None:
        if g.get("smart_auth_required", True):
            raise SmartAuthError(401, "authentication required", oauth_error="invalid_request")
        return None
    if context.patient and not touches_no_patient and patient_id != context.patient:
        raise _bound_elsewhere(context, resource_type, action, patient_id)
    for letter in _letters(action):
        decision = decide(context.scopes, resource_type, letter, context_patient=context.patient,
                          record_patient=patient_id)
        if decision is Decision.ALLOWED:
            continue
        what = f"{ACTION_NAMES[letter]} {resource_type}"
        message = {
            Decision.NO_SCOPE: f"the token's scopes do not allow {what} (needs {scope_needed(resource_type, letter)})",
            Decision.NO_PATIENT_CONTEXT: f"only patient-level scopes allow {what}, and the token has no patient",
            Decision.NOT_PATIENT_BOUND: f"only patient-level scopes allow {what}, and this request names no patient",
            Decision.OTHER_PATIENT: f"the token is for another patient than this {resource_type}'s",
        }[decision]
        raise SmartAuthError(403, message, oauth_error="insufficient_scope",
                             scope=f"patient/{resource_type}.{letter}")
    return context


def _bound_elsewhere(context: SmartContext, resource_type: str, action: str, patient_id: str | None
                     ) -> SmartAuthError:
    """The 403 of a patient-bound context asked about another patient (or about no one patient). It names the
    mismatch, never a patient id: the caller knows whom it asked about."""
    holder = "this session (opened from a patient's chart)" if context.source == "session" else "the token"
    if patient_id is None:
        what = f"{ACTION_NAMES[_letters(action)[0]]} {resource_type}"
        message = (f"{holder} is bound to one patient and reaches that patient only; this request ({what}) names no "
                   "patient, spans patients or names an unknown record")
    else:
        message = (f"this {resource_type} belongs to another patient than the one {holder} is bound to; it reaches "
                   "that patient only")
    return SmartAuthError(403, message[0].upper() + message[1:], oauth_error="insufficient_scope",
                          scope=f"patient/{resource_type}.{action}", page="other-patient",
                          title="Another patient's record")


def _letters(action: str) -> str:
    if not action or any(letter not in ACTIONS for letter in action):
        raise ValueError(f"action must be letters of {ACTIONS!r}, got {action!r}")
    return action


@dataclass(frozen=True)
class Requirement:
    resource_type: str
    action: str
    patient: PatientSource | None = None
    touches_no_patient: bool = False


Guard = Callable[[SmartContext | None], None]


def requires(resource_type: str, action: str, *, patient: PatientSource | None = None,
             touches_no_patient: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare what a view needs; checked before the view runs (and before ``Api.operation`` parses the body).

    ``patient`` says where the request's patient comes from. Without it the operation is about no one patient
    (a list across patients, an export): a patient-bound context is refused it, unless ``touches_no_patient``
    says it reads and writes no patient's record at all.

    Works above or below ``@api.operation`` and stacks (each requirement must hold)::

        @api.operation("/orders", "POST", ...)
        @requires("MedicationRequest", "c", patient=from_body("patient_id"))
        def create_order(body): ...
    """
    _letters(action)
    if patient is not None and touches_no_patient:
        raise ValueError("a requirement with a patient source touches that patient")
    requirement = Requirement(resource_type, action, patient, touches_no_patient)

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        existing = getattr(view, "smart_requirements", ())
        view.smart_requirements = (*existing, requirement)  # type: ignore[attr-defined]
        return view

    return mark


def guarded_by(guard: Guard) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A check beyond scopes and patient (a role the EHR gives the user, ``shared/roles.py``), run before the view
    once every ``@requires`` of it holds; ``guard(context)`` raises ``SmartAuthError`` to refuse."""

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.smart_guards = (*getattr(view, "smart_guards", ()), guard)  # type: ignore[attr-defined]
        return view

    return mark


def from_path(name: str) -> PatientSource:
    """The patient id is the URL variable ``name`` (``/patients/<patient_id>/...``)."""
    return lambda view_args: view_args.get(name)


def from_body(name: str) -> PatientSource:
    """The patient id is the JSON body's field ``name`` (a dotted path for nested fields)."""

    def read(_view_args: dict[str, Any]) -> str | None:
        value: Any = request.get_json(silent=True)
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value if isinstance(value, str) else None

    return read


def from_query(name: str) -> PatientSource:
    return lambda _view_args: request.args.get(name)


def check_requirements(view: Callable[..., Any] | None) -> None:
    for requirement in getattr(view, "smart_requirements", ()):
        patient_id = requirement.patient(request.view_args or {}) if requirement.patient else None
        require(requirement.resource_type, requirement.action, patient_id,
                touches_no_patient=requirement.touches_no_patient)
    for guard in getattr(view, "smart_guards", ()):
        guard(current_context())


def scopes_tuple(scope: str) -> tuple[str, ...]:
    return tuple(split_scopes(scope))
