"""The one filing rule the sandbox's integration engine applies before it writes a message, as hospital engines do:
nothing is filed to a chart the EHR has closed. A patient record the EHR deactivated (``Patient.active`` false: merged
into another record, or entered in error) takes no new documents, orders or observations; the engine answers
``fatal-error`` with the reason, and the clinic must file the work to the patient's active record. It is also how a
test makes the real sandbox refuse a service's message (set the patient inactive, then sign)."""
from __future__ import annotations

from shared.events.consumer import PermanentError
from shared.fhir.client import FhirClient, FhirNotFound


def refuse_closed_chart(fhir: FhirClient, patient_id: str) -> None:
    """PermanentError (the engine's fatal-error) when ``patient_id``'s record is not active. A patient the store does
    not hold is left to the store (the sandbox checks no references). A store that is down raises its own error."""
    if not patient_id or patient_id == "unknown":
        return
    try:
        patient = fhir.read("Patient", patient_id)
    except FhirNotFound:
        return
    if patient.get("active") is False:
        raise PermanentError(f"Patient/{patient_id} is not active in the EHR (merged into another record or entered "
                             "in error): nothing can be filed to this chart. File it to the patient's active record.")
