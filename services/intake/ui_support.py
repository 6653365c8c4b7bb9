"""What the intake's clinician pages need around the SMART session: the clinician in context (patient, display
name), EHR reads with the clinician's own token (patient banner, Practitioner name), and the guard on every form
post (same-site Origin/Referer and a per-session form token).

Nothing here is intake-specific; it sits with the service until ``shared/ui`` offers the same.
"""
from __future__ import annotations

import hashlib
import hmac
import threading
from urllib.parse import urlsplit

from flask import current_app, request

from shared.fhir.client import FhirClient, FhirError
from shared.smart import SmartAuthError, SmartContext, current_context
from shared.ui import PatientBanner, load_patient_banner

FORM_TOKEN_FIELD = "form_token"
EHR_TIMEOUT_S = 5.0
_NAMES_KEPT = 500  # clinician display names cached per process (keyed by fhirUser)


def clinician_context() -> SmartContext:
    """The SMART context of a page request. The pages work only inside a launch (they need its patient)."""
    context = current_context()
    if context is None:
        raise SmartAuthError(401, "Open Ketalink from the patient's chart in the EHR.", page="launch-required",
                             title="Launch from the EHR")
    return context


def ehr_as_clinician(context: SmartContext) -> FhirClient:
    """The EHR's FHIR API as the signed-in clinician (their token, their permissions)."""
    return FhirClient(context.iss, headers={"Authorization": f"Bearer {context.access_token}"},
                      timeout_s=EHR_TIMEOUT_S, retries=1)


def patient_banner(context: SmartContext, patient_id: str, eligibility: str | None) -> PatientBanner:
    """The banner read from the EHR; when the EHR cannot be read the banner says so instead of showing nothing."""
    try:
        return load_patient_banner(ehr_as_clinician(context), patient_id, eligibility=eligibility)
    except FhirError:
        return PatientBanner(patient_id, f"Patient {patient_id} (EHR not reachable: name not shown)", None, None,
                             None, None, (), allergies_known=False, eligibility=eligibility)


class _ClinicianNames:
    """fhirUser → display name ("Grace Ng, RN"), read once with the clinician's token."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()

    def of(self, context: SmartContext) -> str:
        fhir_user = context.fhir_user or ""
        with self._lock:
            if fhir_user in self._names:
                return self._names[fhir_user]
        name = self._read(context, fhir_user)
        with self._lock:
            if len(self._names) >= _NAMES_KEPT:
                self._names.clear()
            self._names[fhir_user] = name
        return name

    @staticmethod
    def _read(context: SmartContext, fhir_user: str) -> str:
        parts = fhir_user.rstrip("/").split("/")  # ".../fhir/Practitioner/<id>" or "Practitioner/<id>"
        resource_type, resource_id = (parts[-2], parts[-1]) if len(parts) >= 2 else ("", "")
        if resource_type not in ("Practitioner", "PractitionerRole", "Person"):
            return fhir_user or "unknown clinician"
        try:
            resource = ehr_as_clinician(context).read(resource_type, resource_id)
        except FhirError:
            return fhir_user
        names = resource.get("name") or [{}]
        name = next((n for n in names if n.get("use") == "official"), names[0])
        return name.get("text") or " ".join([*name.get("given", []), name.get("family", "")]).strip() or fhir_user


_clinician_names = _ClinicianNames()


def clinician_name(context: SmartContext) -> str:
    """Who is recording: the display name of the launch's fhirUser, as the parts' ``*_by`` fields keep it."""
    return _clinician_names.of(context)


def form_token() -> str:
    """A token for this browser session's forms: an HMAC keyed by the session cookie (HttpOnly: another site can
    neither read the cookie nor compute the token). Empty for bearer calls, which carry no ambient credentials."""
    cookie = _session_cookie()
    if not cookie:
        return ""
    return hmac.new(cookie.encode(), b"ketalink-ui-form", hashlib.sha256).hexdigest()


def check_form_post() -> None:
    """Refuse a form post that another site could have made: its Origin (or Referer) must be this host, and a
    session-cookie request must carry this session's form token."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if source and urlsplit(source).netloc != request.host:
        raise _forged("the form was sent from another site")
    context = current_context()
    if context is not None and context.source == "session":
        sent = request.form.get(FORM_TOKEN_FIELD, "")
        if not source or not sent or not hmac.compare_digest(sent, form_token()):
            raise _forged("the form is not from this session")


def _session_cookie() -> str:
    smart = current_app.extensions.get("smart")
    return request.cookies.get(smart.cookie_name, "") if smart is not None else ""


def _forged(why: str) -> SmartAuthError:
    return SmartAuthError(403, f"This form was refused ({why}). Reload the page and try again.",
                          title="Form refused", page="form-refused")
