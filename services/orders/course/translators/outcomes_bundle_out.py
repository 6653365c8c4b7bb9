"""The clinic-level outcomes export as FHIR: a ``collection`` Bundle of one summary MeasureReport (courses in
response and in remission at their last score, with the counts) and one Observation per course row
(``domain/export.py``), both without a subject.

Each row Observation is ``course-outcome`` with one component per column of the row (scores as ``{score}``
quantities, the drop in %, statuses as local codes, counts as integers, the age band and remission rule as strings);
``issued`` is the export time, the only instant in it. Identifiers are the export's own
(``course-outcome-export|{export id}/{row key}``) and fullUrls are UUIDs derived from them, so nothing in the Bundle
leads back to a patient, a course or a date of care."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.orders.course.domain.export import CSV_COLUMNS, OutcomeRow
from services.orders.course.domain.outcomes import RemissionStatus, ResponseStatus
from services.orders.course.translators.codes import (
    COURSE_OUTCOME,
    COURSE_STATUS_CODES,
    GROUP_REMISSION,
    GROUP_RESPONSE,
    KIND_OUTCOME_EXPORT,
    OUTCOME_COMPONENTS,
    OUTCOME_MEASURE,
    POPULATION_DENOMINATOR,
    POPULATION_INITIAL,
    POPULATION_NUMERATOR,
    REMISSION_CODES,
    RESPONSE_CODES,
    SCALE_TOTALS,
    STOP_REASON_CODES,
)
from services.orders.course.translators.common import FhirJson
from shared.fhir.codes import SURVEY_CATEGORY, Code
from shared.fhir.datatypes import codeable_concept, identifier, instant, quantity
from shared.fhir.validate import validate_resource
from shared.scales import DEFINITIONS

_SCALE_BY_NAME = {definition.name: SCALE_TOTALS[scale] for scale, definition in DEFINITIONS.items()}
_CODED_COLUMNS: dict[str, dict[str, Code]] = {
    "response": {status.value: code for status, code in RESPONSE_CODES.items()},
    "remission": {status.value: code for status, code in REMISSION_CODES.items()},
    "course_status": {status.value: code for status, code in COURSE_STATUS_CODES.items()},
    "stop_reason": {reason.value: code for reason, code in STOP_REASON_CODES.items()},
    "primary_scale": _SCALE_BY_NAME,
}


def outcomes_bundle(rows: Sequence[OutcomeRow], export_id: str, generated_at: datetime) -> FhirJson:
    resources = [_measure_report(rows, export_id, generated_at)]
    resources += [_row_observation(row, export_id, generated_at) for row in rows]
    return validate_resource({
        "resourceType": "Bundle",
        "identifier": identifier(KIND_OUTCOME_EXPORT, export_id),
        "type": "collection",
        "timestamp": instant(generated_at),
        "entry": [{"fullUrl": _full_url(r["identifier"][0]["value"]), "resource": r} for r in resources],
    })


def _measure_report(rows: Sequence[OutcomeRow], export_id: str, generated_at: datetime) -> FhirJson:
    years = [row.start_year for row in rows] or [generated_at.year]
    groups = [
        _group(GROUP_RESPONSE, rows, lambda r: r.response != ResponseStatus.UNDETERMINED.value,
               lambda r: r.response == ResponseStatus.RESPONSE.value),
        _group(GROUP_REMISSION, rows, lambda r: r.remission != RemissionStatus.UNDETERMINED.value,
               lambda r: r.remission == RemissionStatus.REMISSION.value),
    ]
    return validate_resource({
        "resourceType": "MeasureReport",
        "identifier": [identifier(KIND_OUTCOME_EXPORT, f"{export_id}/summary")],
        "status": "complete",
        "type": "summary",
        "measure": OUTCOME_MEASURE,
        "date": instant(generated_at),
        "period": {"start": f"{min(years)}-01-01", "end": f"{max(years)}-12-31"},
        "group": groups,
    })


def _group(code: Code, rows: Sequence[OutcomeRow], in_denominator: Any, in_numerator: Any) -> FhirJson:
    denominator = [r for r in rows if in_denominator(r)]
    numerator = [r for r in denominator if in_numerator(r)]
    group: FhirJson = {
        "code": codeable_concept(code),
        "population": [
            {"code": codeable_concept(POPULATION_INITIAL), "count": len(rows)},
            {"code": codeable_concept(POPULATION_DENOMINATOR), "count": len(denominator)},
            {"code": codeable_concept(POPULATION_NUMERATOR), "count": len(numerator)},
        ],
    }
    if denominator:
        group["measureScore"] = {"value": round(len(numerator) / len(denominator), 4)}
    return group


def _row_observation(row: OutcomeRow, export_id: str, generated_at: datetime) -> FhirJson:
    components = []
    for column in CSV_COLUMNS:
        if column == "row_key":
            continue
        value = getattr(row, column)
        if value is None or value == "":
            continue
        components.append({"code": codeable_concept(OUTCOME_COMPONENTS[column]), **_value(column, value)})
    return validate_resource({
        "resourceType": "Observation",
        "identifier": [identifier(KIND_OUTCOME_EXPORT, f"{export_id}/{row.row_key}")],
        "status": "final",
        "category": [codeable_concept(SURVEY_CATEGORY)],
        "code": codeable_concept(COURSE_OUTCOME),
        "issued": instant(generated_at),
        "component": components,
    })


def _value(column: str, value: Any) -> FhirJson:
    if column in _CODED_COLUMNS:
        return {"valueCodeableConcept": codeable_concept(_CODED_COLUMNS[column][value])}
    if isinstance(value, bool):
        return {"valueBoolean": value}
    unit = OUTCOME_COMPONENTS[column].unit
    if unit is not None:
        return {"valueQuantity": quantity(value, unit)}
    if isinstance(value, int):
        return {"valueInteger": value}
    return {"valueString": str(value)}


def _full_url(identifier_value: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{KIND_OUTCOME_EXPORT}/{identifier_value}')}"


