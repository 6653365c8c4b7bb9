"""Series CarePlan from ``order-signed`` (docs/contracts.md) → the scheduled window of each infusion.

One activity per infusion in infusion order (number = index + 1), each a ketalink-local#ketamine-infusion
MedicationRequest activity with ``scheduledPeriod {start, end}`` and status scheduled | completed | cancelled."""

from __future__ import annotations

from dataclasses import dataclass

from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.order import OccurrenceStatus, ScheduledOccurrence
from services.documentation.translators import references
from shared.checks import FieldChecks
from shared.errors import FhirMappingError
from shared.fhir.codes import KETAMINE_INFUSION_PROCEDURE
from shared.fhir.datatypes import FhirJson, find_identifier, has_coding, reference_id
from shared.fhir.validate import validate_resource
from shared.records import RecordError, parse_aware_datetime

MAPPING_CHECKS = FieldChecks(FhirMappingError)  # translators-in refuse with the FHIRPath of the element


@dataclass(frozen=True)
class SeriesSchedule:
    series_id: str
    patient_id: str
    occurrences: tuple[ScheduledOccurrence, ...]


def series_schedule_from_care_plan(care_plan: FhirJson) -> SeriesSchedule:
    validate_resource(care_plan)
    if care_plan.get("resourceType") != "CarePlan":
        raise FhirMappingError("resourceType", f"expected CarePlan, got {care_plan.get('resourceType')}")
    series_id = find_identifier(care_plan, references.SERIES_KIND)
    if not series_id:
        raise FhirMappingError("CarePlan.identifier", "no Ketalink series identifier")
    patient_id = reference_id(care_plan.get("subject"), "Patient")
    if not patient_id:
        raise FhirMappingError("CarePlan.subject", "expected a literal Patient reference")
    activities = care_plan.get("activity") or []
    if not activities:
        raise FhirMappingError("CarePlan.activity", "no scheduled infusion")
    occurrences = tuple(_occurrence(index, activity) for index, activity in enumerate(activities))
    return SeriesSchedule(series_id, patient_id, occurrences)


def _occurrence(index: int, activity: FhirJson) -> ScheduledOccurrence:
    where = f"CarePlan.activity[{index}].detail"
    detail = activity.get("detail") or {}
    if not has_coding(detail.get("code"), KETAMINE_INFUSION_PROCEDURE):
        raise FhirMappingError(f"{where}.code", "expected ketalink-local#ketamine-infusion")
    status = MAPPING_CHECKS.require_member(OccurrenceStatus, detail.get("status"), f"{where}.status")
    period = detail.get("scheduledPeriod") or {}
    if not period.get("start") or not period.get("end"):
        raise FhirMappingError(f"{where}.scheduledPeriod", "start and end are required")
    try:
        return ScheduledOccurrence(
            number=index + 1,
            window_start=parse_aware_datetime(period["start"], f"{where}.scheduledPeriod.start"),
            window_end=parse_aware_datetime(period["end"], f"{where}.scheduledPeriod.end"),
            status=status,
        )
    except RecordError as error:
        raise FhirMappingError(error.path, error.message) from None
    except DocumentationInputError as error:
        raise FhirMappingError(f"{where}.scheduledPeriod ({error.field})", error.message) from None
