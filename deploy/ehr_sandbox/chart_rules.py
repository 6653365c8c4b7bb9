"""The one filing rule of the sandbox's EHR store, as a hospital's EHR has it: nothing is filed to a chart the EHR
has closed. A patient record the EHR deactivated (``Patient.active`` false: merged into another record, or entered
in error) takes no new documents, orders or observations; the store refuses the transaction (422) with the reason,
so the integration engine answers ``fatal-error`` with it and the clinic must file the work to the patient's active
record. It is also how a test makes the real sandbox refuse a service's message (close the chart, then sign)."""
from __future__ import annotations

from typing import Any

from shared.fhir.client import FhirClient, FhirInvalid, FhirNotFound
from shared.fhir.datatypes import FhirJson

UNPROCESSABLE = 422


class ChartGuardedStore(FhirClient):
    """The EHR's FHIR API as the integration engine writes to it: a transaction that files to a closed chart is
    refused before it is sent (``FhirInvalid``, as the store refuses content)."""

    def transaction(self, bundle: FhirJson) -> FhirJson:
        """The transaction-response Bundle without the stored resources (``Prefer: return=minimal``): the engine
        needs to know only that every entry applied (or the store's error), and the store then neither serialises
        the resources back nor does the engine parse them (a CarePlan is several kB)."""
        for patient_id in sorted(patients_filed_to(bundle)):
            refuse_closed_chart(self, patient_id)
        return self._request("POST", "", json=bundle, headers={"Prefer": "return=minimal"}).json()


def refuse_closed_chart(fhir: FhirClient, patient_id: str) -> None:
    """``FhirInvalid`` (422) when ``patient_id``'s record is not active. A patient the store does not hold is left
    to the store (the sandbox checks no references); a store that is down raises its own error."""
    try:
        patient = fhir.read("Patient", patient_id)
    except FhirNotFound:
        return
    if patient.get("active") is False:
        raise FhirInvalid(UNPROCESSABLE, [
            f"Patient/{patient_id} is not active in the EHR (merged into another record or entered in error): "
            "nothing can be filed to this chart. File it to the patient's active record."])


def patients_filed_to(bundle: FhirJson) -> set[str]:
    """The patients a transaction's resources belong to (their ``subject`` or ``patient`` reference)."""
    found = set()
    for entry in bundle.get("entry", []):
        resource: Any = entry.get("resource") or {}
        for field in ("subject", "patient"):
            reference = resource.get(field)
            text = reference.get("reference") if isinstance(reference, dict) else None
            if isinstance(text, str) and text.startswith("Patient/"):
                found.add(text.split("/", 1)[1])
    return found
