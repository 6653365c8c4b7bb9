"""The signed-in clinician of a page request: the SMART launch context, the EHR's FHIR API as that clinician (their
own token and permissions, never the service's access), and their display name from the launch's ``fhirUser``."""
from __future__ import annotations

import hashlib
import threading
from typing import Any

from shared.fhir.client import FhirClient, FhirError
from shared.people import name_of
from shared.smart import SmartAuthError, SmartContext, current_context

EHR_TIMEOUT_S = 5.0  # a page waits at most this long for the EHR (banner, name) before it says what is missing
PERSON_TYPES = ("Practitioner", "PractitionerRole", "Person", "Patient", "RelatedPerson")  # what fhirUser may name


def launch_context() -> SmartContext:
    """The SMART context of a page request. The pages work only inside a launch from the EHR (they need its
    patient and clinician); without one the browser gets the "launch from the EHR" page."""
    context = current_context()
    if context is None:
        raise SmartAuthError(401, "Open Ketalink from the patient's chart in the EHR.", page="launch-required",
                             title="Launch from the EHR")
    return context


def in_launch_context(_view_args: dict[str, Any]) -> str | None:
    """``@requires(..., patient=in_launch_context)``: the page works on the patient the EHR launched it for (the
    records it shows are checked against that patient with ``check_same_patient``)."""
    context = current_context()
    return context.patient if context else None


def check_same_patient(record_patient_id: str | None, what: str) -> None:
    """Refuse (403) a record of another patient than the one open in the EHR, whatever the token's scopes allow:
    a page never shows one patient's record in another patient's chart."""
    context = launch_context()
    if record_patient_id != context.patient:
        raise SmartAuthError(403, f"This {what} belongs to another patient than the one open in the EHR. Open that "
                                  "patient's chart to see it.", title="Another patient's record", page="other-patient")


def ehr_as_clinician(context: SmartContext) -> FhirClient:
    """The EHR's FHIR API with the clinician's own token: the pages show only what this user may read."""
    return FhirClient(context.iss, headers={"Authorization": f"Bearer {context.access_token}"},
                      timeout_s=EHR_TIMEOUT_S, retries=1)


def clinician_name(context: SmartContext) -> str | None:
    """The display name of the launch's ``fhirUser`` ("Grace Ng, RN"), the "by" of what the clinician records;
    None when the launch names no fhirUser or the EHR cannot give the name (each page decides what it does then)."""
    return _names.of(context)


def fhir_user_reference(fhir_user: str) -> str:
    """``Practitioner/123`` from an absolute or relative fhirUser URL."""
    parts = fhir_user.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else fhir_user


class _ClinicianNames:
    """Names read once per SMART session (per token for bearer calls): every post needs the name, and it does not
    change within a session. A name the EHR could not give is asked again next time."""

    MAX_KEPT = 1000

    def __init__(self) -> None:
        self._names: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def of(self, context: SmartContext) -> str | None:
        if not context.fhir_user:
            return None
        key = (context.session_hash or hashlib.sha256(context.access_token.encode()).hexdigest(), context.fhir_user)
        with self._lock:
            if key in self._names:
                return self._names[key]
        name = _read_name(context, context.fhir_user)
        if name:
            with self._lock:
                if len(self._names) >= self.MAX_KEPT:
                    self._names.clear()
                self._names[key] = name
        return name


_names = _ClinicianNames()


def _read_name(context: SmartContext, fhir_user: str) -> str | None:
    resource_type, _, resource_id = fhir_user_reference(fhir_user).partition("/")
    if resource_type not in PERSON_TYPES or not resource_id:
        return None
    try:
        resource = ehr_as_clinician(context).read(resource_type, resource_id)
    except FhirError:
        return None
    return name_of(resource)
