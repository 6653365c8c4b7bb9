"""A series CarePlan (the contract's shape) → TreatmentSeries. Raises FhirMappingError for anything outside the
contract: another activity code or status, a CarePlan status the series does not use, a missing window."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from shared.fhir.codes import KETAMINE_INFUSION_PROCEDURE, KIND_SERIES
from shared.fhir.datatypes import find_identifier, has_coding
from shared.errors import FhirMappingError
from shared.fhir.reading import day, moment, patient_id_of, referenced_identifier, validated
from services.orders.domain.series import InfusionStatus, ScheduledInfusion, SeriesPhase, SeriesStatus, TreatmentSeries
from services.orders.translators.codes import CATEGORY_TEXT_INDUCTION, CATEGORY_TEXT_MAINTENANCE

PHASE_BY_CATEGORY_TEXT = {CATEGORY_TEXT_INDUCTION: SeriesPhase.INDUCTION,
                          CATEGORY_TEXT_MAINTENANCE: SeriesPhase.MAINTENANCE}


def series_from_care_plan(care_plan: dict[str, Any], clinic_timezone: str = "UTC") -> TreatmentSeries:
    """Window instants are read as days in the clinic's zone (plain dates are taken as they are)."""
    zone = ZoneInfo(clinic_timezone)
    resource = validated(care_plan, "CarePlan")
    series_id = find_identifier(resource, KIND_SERIES)
    if not series_id:
        raise FhirMappingError("CarePlan.identifier", "the Ketalink series identifier is missing")
    try:
        status = SeriesStatus(resource["status"])
    except ValueError:
        raise FhirMappingError("CarePlan.status", f"{resource['status']!r} is not a series status") from None
    activities = resource.get("activity") or []
    if not activities:
        raise FhirMappingError("CarePlan.activity", "a series needs at least one infusion activity")
    return TreatmentSeries(
        series_id=series_id,
        patient_id=patient_id_of(resource.get("subject"), "CarePlan.subject"),
        phase=_phase(resource),
        status=status,
        infusions=tuple(_infusion(index, activity, zone) for index, activity in enumerate(activities)),
        created_at=moment(resource.get("created"), "CarePlan.created"),
        replaces_series_id=referenced_identifier(resource.get("replaces"), KIND_SERIES),
    )


def _phase(resource: dict[str, Any]) -> SeriesPhase:
    for category in resource.get("category") or []:
        if category.get("text") in PHASE_BY_CATEGORY_TEXT:
            return PHASE_BY_CATEGORY_TEXT[category["text"]]
    raise FhirMappingError("CarePlan.category", "expected category text ketamine-induction or ketamine-maintenance")


def _infusion(index: int, activity: dict[str, Any], zone: ZoneInfo) -> ScheduledInfusion:
    path = f"CarePlan.activity[{index}].detail"
    detail = activity.get("detail") or {}
    if not has_coding(detail.get("code"), KETAMINE_INFUSION_PROCEDURE):
        raise FhirMappingError(f"{path}.code", "expected ketalink-local#ketamine-infusion")
    try:
        status = InfusionStatus(detail.get("status"))
    except ValueError:
        raise FhirMappingError(f"{path}.status", f"{detail.get('status')!r} is not scheduled, completed or "
                                                 "cancelled") from None
    period = detail.get("scheduledPeriod") or {}
    start = day(period.get("start"), f"{path}.scheduledPeriod.start", zone)
    end = day(period.get("end"), f"{path}.scheduledPeriod.end", zone)
    if end < start:
        raise FhirMappingError(f"{path}.scheduledPeriod", "the window ends before it starts")
    return ScheduledInfusion(index + 1, start, end, status)
