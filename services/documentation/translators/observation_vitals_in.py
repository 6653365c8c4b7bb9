"""Vital-sign Observations from the EHR or a device (``vitals-recorded`` on ehr.events) → one flowsheet reading.

The Observations of one reading share subject and effective time. BP must come as the panel with both
components; HR, SpO2 and RR as their own Observation, all in UCUM units. A measure sent with dataAbsentReason
is left out. Observations Ketalink sent itself carry its identifier and come back as the same clinician reading
(round trip); others become an ``ehr`` reading that keeps their EHR ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.vitals import VitalsReading, VitalsSource
from services.documentation.translators import references
from services.documentation.translators.codes import RASS
from shared.errors import FhirMappingError
from shared.fhir.codes import BP_PANEL, HEART_RATE, RESPIRATORY_RATE, SPO2, SPO2_ARTERIAL
from shared.fhir.datatypes import FhirJson, find_identifier, has_coding, reference_id
from shared.fhir.validate import validate_resource
from shared.fhir.vital_signs import USABLE_STATUSES, VitalSignError, blood_pressure_mmhg, vital_sign_value
from shared.people import Person
from shared.records import RecordError, parse_aware_datetime

DEFAULT_RECORDER = Person(None, "EHR")  # a reading the EHR sent without a performer


@dataclass(frozen=True)
class InboundVitals:
    """The patient the Observations are about (to find the session) and the reading they make."""

    patient_id: str
    reading: VitalsReading


def vitals_from_observations(observations: list[FhirJson], reading_id: str | None = None) -> InboundVitals:
    """``reading_id`` overrides the derived one (Ketalink identifier's reading part, else ``ehr-{first id}``)."""
    if not observations:
        raise FhirMappingError("Observation", "no Observation to read")
    values: dict[str, Any] = {}
    patient_ids: set[str] = set()
    moments: set[datetime] = set()
    own_reading_ids: set[str] = set()
    ehr_ids: list[str] = []
    recorded_by: Person | None = None
    for index, observation in enumerate(observations):
        where = f"Observation[{index}]"
        validate_resource(observation)
        if observation.get("resourceType") != "Observation":
            raise FhirMappingError(where, f"expected an Observation, got {observation.get('resourceType')}")
        if observation.get("status") not in USABLE_STATUSES:
            raise FhirMappingError(f"{where}.status", f"{observation.get('status')!r} is not a usable result")
        patient_id = reference_id(observation.get("subject"), "Patient")
        if not patient_id:
            raise FhirMappingError(f"{where}.subject", "expected a literal Patient reference")
        patient_ids.add(patient_id)
        moments.add(_effective(observation, where))
        own_value = find_identifier(observation, references.VITAL_SIGN_KIND)
        if own_value:
            own_reading_ids.add(_reading_part(own_value, where))
        elif observation.get("id"):
            ehr_ids.append(observation["id"])
        recorded_by = recorded_by or _performer(observation)
        try:
            measures = _measures(observation, where)
        except VitalSignError as error:
            raise FhirMappingError(error.field, error.message) from None
        for name, value in measures.items():
            if name in values:
                raise FhirMappingError(f"{where}.code", f"{name} given twice in one reading")
            values[name] = value
    if len(patient_ids) > 1:
        raise FhirMappingError("Observation.subject", "the Observations are about different patients")
    if len(moments) > 1:
        raise FhirMappingError("Observation.effectiveDateTime", "the Observations were taken at different times")
    if len(own_reading_ids) > 1:
        raise FhirMappingError("Observation.identifier", "the Observations belong to different readings")
    ours = bool(own_reading_ids)
    resolved_id = reading_id or (next(iter(own_reading_ids)) if ours else (f"ehr-{ehr_ids[0]}" if ehr_ids else ""))
    if not resolved_id:
        raise FhirMappingError("Observation.id", "no id or Ketalink identifier to name the reading by")
    try:
        reading = VitalsReading(
            reading_id=resolved_id,
            measured_at=moments.pop(),
            recorded_by=recorded_by or DEFAULT_RECORDER,
            source=VitalsSource.CLINICIAN if ours else VitalsSource.EHR,
            ehr_observation_ids=() if ours else tuple(ehr_ids),
            **values,
        )
    except DocumentationInputError as error:
        raise FhirMappingError(f"Observation ({error.field})", error.message) from None
    return InboundVitals(patient_ids.pop(), reading)


def _measures(observation: FhirJson, where: str) -> dict[str, Any]:
    """The measures of one Observation as VitalsReading fields (whole mmHg and breaths/beats per minute)."""
    code = observation.get("code")
    if has_coding(code, BP_PANEL):
        systolic, diastolic = blood_pressure_mmhg(observation, where)
        if systolic is None and diastolic is None:
            return {}
        if systolic is None or diastolic is None:
            raise FhirMappingError(f"{where}.component", "BP panel needs both systolic and diastolic values")
        return {"systolic_mmhg": round(systolic), "diastolic_mmhg": round(diastolic)}
    if has_coding(code, HEART_RATE):
        value = vital_sign_value(observation, HEART_RATE.unit or "", where)
        return {} if value is None else {"heart_rate_per_min": round(value)}
    if has_coding(code, SPO2) or has_coding(code, SPO2_ARTERIAL):
        value = vital_sign_value(observation, SPO2.unit or "", where)
        return {} if value is None else {"spo2_percent": value}
    if has_coding(code, RASS):
        value = observation.get("valueInteger")
        if isinstance(value, bool) or not isinstance(value, int):
            raise FhirMappingError(f"{where}.valueInteger", "the RASS is an integer score (-5 to +4)")
        return {"rass_score": value}
    if has_coding(code, RESPIRATORY_RATE):
        value = vital_sign_value(observation, RESPIRATORY_RATE.unit or "", where)
        return {} if value is None else {"respiratory_rate_per_min": round(value)}
    shown = [f"{c.get('system')}|{c.get('code')}" for c in (code or {}).get("coding", [])]
    raise FhirMappingError(f"{where}.code", f"not a vital sign this service maps: {', '.join(shown) or 'no coding'}")


def _effective(observation: FhirJson, where: str) -> datetime:
    text = observation.get("effectiveDateTime") or observation.get("effectiveInstant")
    if not text:
        raise FhirMappingError(f"{where}.effectiveDateTime", "a reading needs its time")
    if len(text) <= len("YYYY-MM-DD"):
        raise FhirMappingError(f"{where}.effectiveDateTime", "a date without a time cannot be charted")
    try:
        return parse_aware_datetime(text, f"{where}.effectiveDateTime")
    except RecordError as error:
        raise FhirMappingError(error.path, error.message) from None


def _performer(observation: FhirJson) -> Person | None:
    return next((person for person in map(Person.from_fhir, observation.get("performer") or []) if person), None)


def _reading_part(value: str, where: str) -> str:
    parts = value.split("/")
    if len(parts) < 3 or not parts[-2]:
        raise FhirMappingError(f"{where}.identifier", f"unexpected Ketalink vital-sign identifier {value!r}")
    return parts[-2]
