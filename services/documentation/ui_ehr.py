"""What the pages read from the EHR as the signed-in clinician (their SMART access token, never the service's own
access): the patient banner, the patient's latest eligibility decision and the clinician's name for "by"."""
from __future__ import annotations

import threading
from datetime import date

from shared.fhir.client import FhirClient, FhirError
from shared.fhir.codes import KETALINK_LOCAL
from shared.smart import SmartContext
from shared.ui import PatientBanner, load_patient_banner

ELIGIBILITY_CODE = f"{KETALINK_LOCAL}|ketamine-eligibility"  # RiskAssessment.code of intake's decision
ELIGIBILITY_OUTCOMES = ("eligible", "not-eligible", "needs-review")
EHR_TIMEOUT_S = 5.0


def clinician_client(context: SmartContext) -> FhirClient:
    return FhirClient(context.iss, timeout_s=EHR_TIMEOUT_S, retries=1,
                      headers={"Authorization": f"Bearer {context.access_token}"})


def patient_banner(context: SmartContext, patient_id: str, today: date | None = None) -> PatientBanner | None:
    """The banner, or None when the EHR cannot give the patient (the page says so instead)."""
    client = clinician_client(context)
    try:
        return load_patient_banner(client, patient_id, today=today, eligibility=latest_eligibility(client, patient_id))
    except FhirError:
        return None


def latest_eligibility(client: FhirClient, patient_id: str) -> str | None:
    """The outcome of the latest eligibility RiskAssessment intake sent to the EHR, or None when it has none."""
    try:
        found = client.search_first_page("RiskAssessment", {"subject": f"Patient/{patient_id}",
                                                            "code": ELIGIBILITY_CODE, "_count": 50})
    except FhirError:
        return None
    decisions = sorted((r for r in found if r.get("status") in ("final", "amended", "corrected")),
                       key=lambda r: r.get("occurrenceDateTime") or "")
    for decision in reversed(decisions):
        for prediction in decision.get("prediction") or []:
            for coding in (prediction.get("outcome") or {}).get("coding") or []:
                if coding.get("system") == KETALINK_LOCAL and coding.get("code") in ELIGIBILITY_OUTCOMES:
                    return str(coding["code"])
    return None


class ClinicianNames:
    """The signed-in clinician's display name (``fhirUser`` → Practitioner.name), the "by" of what they chart.
    Cached per fhirUser: a name does not change within a shift, and every post needs it."""

    MAX_CACHED = 1000

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()

    def name(self, context: SmartContext) -> str | None:
        fhir_user = context.fhir_user
        if not fhir_user:
            return None
        with self._lock:
            if fhir_user in self._names:
                return self._names[fhir_user]
        name = self._read(context, fhir_user)
        if name:
            with self._lock:
                if len(self._names) >= self.MAX_CACHED:
                    self._names.clear()
                self._names[fhir_user] = name
        return name or _reference(fhir_user)

    @staticmethod
    def _read(context: SmartContext, fhir_user: str) -> str | None:
        resource_type, resource_id = _reference(fhir_user).partition("/")[::2]
        if resource_type not in ("Practitioner", "PractitionerRole", "Person", "Patient", "RelatedPerson") or \
                not resource_id:
            return None
        try:
            resource = clinician_client(context).read(resource_type, resource_id)
        except FhirError:
            return None
        names = resource.get("name") or []
        name = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
        return name.get("text") or " ".join([*name.get("given", []), name.get("family", "")]).strip() or None


def _reference(fhir_user: str) -> str:
    """``Practitioner/123`` from an absolute or relative fhirUser URL."""
    parts = fhir_user.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else fhir_user
