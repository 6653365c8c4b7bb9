"""Who may take a prescriber's decision: deciding eligibility, signing an order, signing a note, overriding a
clinical rule. A nurse charts; a prescriber decides and signs (issue 13, defect 21).

The role comes from the EHR, which knows it, never from what the caller types: the ``PractitionerRole`` resources
of the launch's ``fhirUser`` (``PractitionerRole?practitioner=<fhirUser>``, or the resource itself when ``fhirUser``
names a PractitionerRole), read with the clinician's own token, and, for EHRs whose authorization server puts the
role in the token, the token's scopes. A role counts as a prescriber's when one of its ``code`` codings is in
``KETALINK_PRESCRIBER_ROLE_CODES``; a role that is inactive or whose period has ended counts for nothing.

Settings (environment prefix ``KETALINK_``, validated at start-up by ``install_roles``, which ``install_ui`` calls):

- ``prescriber_role_codes`` (``system|code``, comma-separated). Default: HL7 practitioner-role ``doctor``
  (http://terminology.hl7.org/CodeSystem/practitioner-role, the FHIR R4 example value set), SNOMED CT
  309343006 "Physician (occupation)" and 224571005 "Nurse practitioner (occupation)" (both in the practitioner-role
  value set, SNOMED descendants of 223366009 "Healthcare professional"). A registered nurse (HL7 ``nurse``, SNOMED
  224535009) is deliberately not a prescriber. Which licences may prescribe a Schedule III drug is state law (US):
  each clinic sets the list; it must not be empty.
- ``prescriber_scopes`` (comma-separated, default none): token scopes that make the bearer a prescriber, for an EHR
  that grants roles as scopes (e.g. ``user/ketalink.prescriber``). Empty: only the EHR's PractitionerRole counts.
- ``role_cache_s`` (default 300, 0-3600): how long a clinician's roles are kept per session (per token for bearer
  calls) before the EHR is asked again. 0 asks on every decision; the high side bounds how long a role the EHR
  has withdrawn still signs.

Who acts (decides, signs, records) is ``acting_person``: the SMART context's ``fhirUser`` as a ``shared.people.Person``
(a reference with the EHR's name for it), or for a backend client the Practitioner it names in ``on_behalf_of``,
checked against the EHR; never a name or reference from the request body.

With ``SMART_AUTH_REQUIRED=false`` (local runs and the domain tests: no token, no signed-in clinician) there is no
one to check: the rule is not applied there, like every scope check.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from flask import Flask, g, has_app_context
from pydantic import AfterValidator

from shared.clinic_time import clinic_today
from shared.config import app_settings, install_app_settings, load_settings
from shared.fhir.client import FhirClient, FhirError, FhirUnavailable
from shared.people import CLINICIAN_TYPES, MAX_DISPLAY, Person, UnknownClinician, clinician_in_ehr, valid_reference
from shared.smart.access import SmartAuthError, SmartContext
from shared.ui.clinician import clinician_name, ehr_as_clinician, fhir_user_reference

PRACTITIONER_ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/practitioner-role"
SNOMED = "http://snomed.info/sct"
ROLE_DOCTOR = f"{PRACTITIONER_ROLE_SYSTEM}|doctor"
ROLE_NURSE = f"{PRACTITIONER_ROLE_SYSTEM}|nurse"
SNOMED_PHYSICIAN = f"{SNOMED}|309343006"  # Physician (occupation)
SNOMED_NURSE_PRACTITIONER = f"{SNOMED}|224571005"  # Nurse practitioner (occupation)
SNOMED_REGISTERED_NURSE = f"{SNOMED}|224535009"  # Registered nurse (occupation): not a prescriber
DEFAULT_PRESCRIBER_ROLE_CODES = (ROLE_DOCTOR, SNOMED_PHYSICIAN, SNOMED_NURSE_PRACTITIONER)
EXTENSION_KEY = "ketalink_roles"
MAX_ROLES_READ = 50  # PractitionerRole resources read for one clinician (one page)

#: What a prescriber attests with each decision, recorded with the signature (``attestation`` in the records).
ATTESTATIONS: Mapping[str, str] = {
    "decide-eligibility": "I am the prescriber responsible for this decision; I reviewed every answer and reason it "
                          "rests on.",
    "sign-order": "I am the prescriber responsible for this order; I checked the patient, dose, product and "
                  "schedule it states.",
    "sign-note": "I am the prescriber responsible for this note; it is a true record of the session as I "
                 "reviewed it.",
}


def _must_be_attested(value: bool) -> bool:
    if value is not True:
        raise ValueError("a prescriber's attestation is needed: send attested true once the statement is read")
    return value


#: A request body's ``attested`` field: the prescriber ticked the attestation (``ATTESTATIONS``); false or missing
#: is refused with 422 naming the field.
Attested = Annotated[bool, AfterValidator(_must_be_attested)]


@dataclass(frozen=True)
class RoleSettings:
    """``KETALINK_*`` role settings; see the module docstring for defaults and sources."""

    prescriber_role_codes: tuple[str, ...] = DEFAULT_PRESCRIBER_ROLE_CODES
    prescriber_scopes: tuple[str, ...] = ()
    role_cache_s: int = 300

    def validate(self) -> None:
        if not self.prescriber_role_codes:
            raise ValueError("prescriber_role_codes must name at least one system|code (nobody could sign)")
        for code in self.prescriber_role_codes:
            system, bar, value = code.partition("|")
            if not bar or not system.startswith(("http://", "https://", "urn:")) or not value or "|" in value:
                raise ValueError(f"prescriber_role_codes: {code!r} is not system|code (system an http(s) or urn URI)")
        for scope in self.prescriber_scopes:
            if not scope or any(ch.isspace() for ch in scope):
                raise ValueError(f"prescriber_scopes: {scope!r} is not a scope")
        if not 0 <= self.role_cache_s <= 3600:
            raise ValueError("role_cache_s must be 0-3600 seconds")


@dataclass(frozen=True)
class ClinicianRoles:
    """The roles the EHR gives one clinician: each ``system|code``, and the display of each for messages."""

    fhir_user: str | None
    codes: frozenset[str]
    displays: tuple[str, ...] = ()

    def describe(self) -> str:
        return ", ".join(self.displays) if self.displays else "no role recorded in the EHR"


# -- the rule (pure) ------------------------------------------------------------------------------------------------
def roles_from_practitioner_roles(resources: Iterable[Mapping[str, Any]], today: date,
                                  fhir_user: str | None = None) -> ClinicianRoles:
    """The role codes of the PractitionerRole resources that are in force on ``today``: ``active`` not false and
    ``period`` (when given) covering the day. A withdrawn or expired role signs nothing. When ``fhir_user`` names a
    Practitioner, a role that names another practitioner (or none) is not theirs and counts for nothing: an EHR
    that ignores the ``practitioner`` search parameter answers with every clinician's roles, and a nurse must not
    sign on a physician's role."""
    owner = fhir_user_reference(fhir_user) if fhir_user else None
    owner = owner if owner and owner.startswith("Practitioner/") else None
    codes: set[str] = set()
    displays: list[str] = []
    for resource in resources:
        if resource.get("resourceType") not in (None, "PractitionerRole") or resource.get("active") is False:
            continue
        if owner is not None and _practitioner_of(resource) != owner:
            continue
        if not _in_period(resource.get("period") or {}, today):
            continue
        for concept in resource.get("code") or []:
            for coding in (concept or {}).get("coding") or []:
                if coding.get("system") and coding.get("code"):
                    codes.add(f"{coding['system']}|{coding['code']}")
            display = (concept or {}).get("text") or next(
                (c.get("display") for c in (concept or {}).get("coding") or [] if c.get("display")), None)
            if display and display not in displays:
                displays.append(display)
    return ClinicianRoles(fhir_user, frozenset(codes), tuple(displays))


def is_prescriber(roles: ClinicianRoles, scopes: Iterable[str], settings: RoleSettings) -> bool:
    """A prescriber: one of the clinician's role codes is a prescriber code, or the token carries a prescriber
    scope (when the clinic configured any)."""
    return bool(roles.codes & set(settings.prescriber_role_codes)) or bool(
        set(scopes) & set(settings.prescriber_scopes))


def missing_scope_and_role(context: SmartContext, scopes: Iterable[str],
                           role_codes: Iterable[str]) -> ClinicianRoles | None:
    """None when the token carries one of ``scopes`` or the EHR gives the user one of ``role_codes`` (a guard lets
    the request on); otherwise the user's roles, for the 403 to name. The scopes are looked at first: they need no
    read of the EHR."""
    if set(context.scopes) & set(scopes):
        return None
    roles = clinician_roles(context, role_settings())
    return None if roles.codes & set(role_codes) else roles


def refusal_message(action: str, roles: ClinicianRoles) -> str:
    """The 403's text: what was refused, the role it needs and the role the EHR gave."""
    return (f"Only a prescriber may {action}. The EHR gives you: {roles.describe()}. Ask a prescriber (a physician "
            "or nurse practitioner, as the clinic set it) to do it, or have your role corrected in the EHR.")


def _practitioner_of(resource: Mapping[str, Any]) -> str | None:
    """``Practitioner/123`` from the role's ``practitioner`` reference (relative or absolute); None without one."""
    reference = (resource.get("practitioner") or {}).get("reference") if isinstance(
        resource.get("practitioner"), Mapping) else None
    return fhir_user_reference(reference) if isinstance(reference, str) and reference else None


def _in_period(period: Mapping[str, Any], today: date) -> bool:
    start, end = period.get("start"), period.get("end")
    try:
        if start and date.fromisoformat(str(start)[:10]) > today:
            return False
        if end and date.fromisoformat(str(end)[:10]) < today:
            return False
    except ValueError:
        return False  # a period the EHR wrote unreadably: not trusted to be in force
    return True


# -- settings on the app -----------------------------------------------------------------------------------------
def install_roles(app: Flask, settings: RoleSettings | None = None) -> RoleSettings:
    """Load ``KETALINK_*`` role settings once, at start-up (a bad value stops the process with the variable's
    name), and keep them on the app."""
    return install_app_settings(app, RoleSettings, "KETALINK_", EXTENSION_KEY, settings)


def role_settings() -> RoleSettings:
    return app_settings(EXTENSION_KEY, lambda: load_settings(RoleSettings, "KETALINK_"))


# -- the check -------------------------------------------------------------------------------------------------
def require_prescriber(context: SmartContext | None, action: str,
                       settings: RoleSettings | None = None) -> ClinicianRoles | None:
    """Raise 403 (an OperationOutcome on the JSON API, the error page on pages) unless the signed-in clinician is
    a prescriber. ``action`` names what was refused in words ("sign this order"). Returns the clinician's roles,
    or None where SMART is off (``SMART_AUTH_REQUIRED=false``, no context: nobody to check)."""
    settings = settings or role_settings()
    if context is None:
        if g.get("smart_auth_required", True) if has_app_context() else True:
            raise SmartAuthError(401, f"authentication required to {action}", oauth_error="invalid_request")
        return None
    roles = clinician_roles(context, settings)
    if not is_prescriber(roles, context.scopes, settings):
        raise SmartAuthError(403, refusal_message(action, roles), title="Prescriber needed", page="not-prescriber")
    return roles


def acting_person(context: SmartContext | None, typed: str | None = None, *, on_behalf_of: str | None = None,
                  ehr: FhirClient | None = None) -> Person:
    """Who acts in this request, as the EHR knows them: never a name or reference from the request body.

    - A page or a clinician's token: the SMART context's ``fhirUser`` (a Practitioner or PractitionerRole), shown
      by the name the EHR gives it (``clinician_name``; the reference when the EHR gives none). ``on_behalf_of``
      naming anyone else is refused (403): a clinician acts for themself.
    - A backend client (a bearer token with no ``fhirUser``, e.g. system scopes): only for the Practitioner (or
      PractitionerRole) it names in ``on_behalf_of``, which must exist (and not be inactive) in the EHR, read with
      the service's own client ``ehr``: 403 without one, 422 when the EHR has none such, 502 when it cannot say.
    - SMART off (``SMART_AUTH_REQUIRED=false``, local runs only: no context): the typed name, without reference.
    """
    if context is None:
        if g.get("smart_auth_required", True) if has_app_context() else True:
            raise SmartAuthError(401, "authentication required", oauth_error="invalid_request")
        name = (typed or "").strip()
        if not name:
            raise SmartAuthError(400, "name who acts (by): SMART is off, so nobody is signed in",
                                 title="Who acts is missing")
        return Person(None, name[:MAX_DISPLAY])
    if context.fhir_user:
        reference = fhir_user_reference(context.fhir_user)
        if not valid_reference(reference) or reference.partition("/")[0] not in CLINICIAN_TYPES:
            raise SmartAuthError(403, "Only a clinician (a Practitioner in the EHR) records clinical acts; the EHR "
                                      f"names you as {reference.partition('/')[0] or 'nobody'}.",
                                 title="Not a clinician", page="not-prescriber")
        if on_behalf_of and on_behalf_of.strip() != reference:
            raise SmartAuthError(403, "A clinician acts for themself: on_behalf_of is for backend clients only.",
                                 title="Not allowed")
        return Person(reference, (clinician_name(context) or reference)[:MAX_DISPLAY])
    if context.source != "bearer":
        raise SmartAuthError(403, "The EHR launch did not say who you are (no fhirUser), so nothing can be recorded "
                                  "under your name. Ask for the app to be launched with the fhirUser scope.",
                             title="Clinician unknown", page="not-prescriber")
    return _practitioner_acted_for(on_behalf_of, ehr)


def _practitioner_acted_for(on_behalf_of: str | None, ehr: FhirClient | None) -> Person:
    """A backend client's ``on_behalf_of``, checked against the EHR."""
    reference = (on_behalf_of or "").strip()
    if not reference:
        raise SmartAuthError(403, "A backend client acts only for a clinician it names: send on_behalf_of "
                                  '"Practitioner/<id>".', oauth_error="insufficient_scope", title="Clinician unknown")
    if ehr is None:
        raise SmartAuthError(403, "this operation cannot check on_behalf_of against the EHR",
                             title="Clinician unknown")
    try:
        return clinician_in_ehr(reference, ehr)
    except UnknownClinician as error:
        raise SmartAuthError(422, f"on_behalf_of: {error}", title="Clinician unknown") from None
    except FhirUnavailable:
        raise SmartAuthError(502, "The EHR could not be reached to check on_behalf_of; nothing was recorded.",
                             title="EHR not reachable") from None
    except FhirError as error:
        raise SmartAuthError(502, f"The EHR did not let Ketalink check on_behalf_of (HTTP {error.status}); nothing "
                                  "was recorded.", title="EHR not reachable") from None


def clinician_roles(context: SmartContext, settings: RoleSettings) -> ClinicianRoles:
    """The roles of the launch's ``fhirUser``, from the EHR with the clinician's token (kept ``role_cache_s``)."""
    if not context.fhir_user:
        return ClinicianRoles(None, frozenset())
    return _cache.get(context, settings.role_cache_s, lambda: _read_roles(context))


def _read_roles(context: SmartContext) -> ClinicianRoles:
    reference = fhir_user_reference(context.fhir_user or "")
    resource_type, _, resource_id = reference.partition("/")
    today = clinic_today()
    ehr = ehr_as_clinician(context)
    try:
        if resource_type == "PractitionerRole" and resource_id:
            resources = [ehr.read("PractitionerRole", resource_id)]
        elif resource_type == "Practitioner" and resource_id:
            resources = ehr.search_first_page("PractitionerRole", {"practitioner": reference,
                                                                   "_count": MAX_ROLES_READ})
        else:
            resources = []  # a Patient, Person or RelatedPerson: no clinical role
    except FhirUnavailable:
        raise SmartAuthError(502, "The EHR could not be reached to check your role; nothing was signed. Try again "
                                  "in a moment.", title="EHR not reachable") from None
    except FhirError as error:
        raise SmartAuthError(403, f"The EHR did not give your role (PractitionerRole, HTTP {error.status}); nothing "
                                  "was signed. The app needs to read your PractitionerRole (scope "
                                  "user/PractitionerRole.rs).", title="Role not readable",
                             page="not-prescriber") from None
    return roles_from_practitioner_roles(resources, today, context.fhir_user)


class _RoleCache:
    """Roles per SMART session (per token for bearer calls) and fhirUser, for ``role_cache_s`` seconds."""

    MAX_KEPT = 1000

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], tuple[float, ClinicianRoles]] = {}
        self._lock = threading.Lock()

    def get(self, context: SmartContext, ttl_s: int, read: Any) -> ClinicianRoles:
        key = (context.session_hash or hashlib.sha256(context.access_token.encode()).hexdigest(),
               context.fhir_user or "")
        now = time.monotonic()
        with self._lock:
            kept = self._kept.get(key)
            if kept and kept[0] > now:
                return kept[1]
        roles: ClinicianRoles = read()
        if ttl_s > 0:
            with self._lock:
                if len(self._kept) >= self.MAX_KEPT:
                    self._kept.clear()
                self._kept[key] = (now + ttl_s, roles)
        return roles

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


_cache = _RoleCache()
