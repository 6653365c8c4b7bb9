"""TreatmentSeries → the series CarePlan of the order events, exactly as docs/contracts.md: category text by phase,
one activity per infusion in order (infusion number = index + 1) with its status and scheduled window."""
from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from shared.fhir.codes import KETAMINE_INFUSION_PROCEDURE, KIND_SERIES
from shared.fhir.datatypes import codeable_concept, identifier, instant, reference, reference_by_identifier
from shared.fhir.validate import validate_resource
from services.orders.domain.series import SeriesPhase, TreatmentSeries
from services.orders.translators.codes import (
    CAREPLAN_ACTIVITY_KIND, CATEGORY_TEXT_INDUCTION, CATEGORY_TEXT_MAINTENANCE,
)

_LAST_SECOND = time(23, 59, 59)
CATEGORY_TEXT_BY_PHASE = {SeriesPhase.INDUCTION: CATEGORY_TEXT_INDUCTION,
                          SeriesPhase.MAINTENANCE: CATEGORY_TEXT_MAINTENANCE}


def care_plan_from_series(series: TreatmentSeries, clinic_timezone: str = "UTC") -> dict[str, Any]:
    """Series status values are CarePlan codes (draft, active, on-hold, completed, revoked). A window's days
    (inclusive) become instants in the clinic's zone: from 00:00:00 on the first day to 23:59:59 on the last, so
    readers that need timestamps get them and ``scheduledPeriod.end`` still includes the whole last day."""
    zone = ZoneInfo(clinic_timezone)
    resource: dict[str, Any] = {
        "resourceType": "CarePlan",
        "identifier": [identifier(KIND_SERIES, series.series_id)],
        "status": series.status.value,
        "intent": "plan",
        "category": [{"text": CATEGORY_TEXT_BY_PHASE[series.phase]}],
        "subject": reference("Patient", series.patient_id),
        "created": instant(series.created_at),
        "activity": [
            {"detail": {
                "kind": CAREPLAN_ACTIVITY_KIND,
                "code": codeable_concept(KETAMINE_INFUSION_PROCEDURE),
                "status": infusion.status.value,
                "scheduledPeriod": {"start": instant(datetime.combine(infusion.window_start, time.min, zone)),
                                    "end": instant(datetime.combine(infusion.window_end, _LAST_SECOND, zone))},
            }}
            for infusion in series.infusions
        ],
    }
    if series.replaces_series_id:
        resource["replaces"] = [reference_by_identifier("CarePlan", KIND_SERIES, series.replaces_series_id)]
    return validate_resource(resource)
