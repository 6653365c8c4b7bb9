"""Pieces every course translator uses: references to the course and the infusion visit, coded enums in both
directions, and what an in-translator returns besides the record (the course and patient it belongs to)."""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from services.orders.course.domain.measurements import CssrsScreening, ScaleScore
from services.orders.course.translators.codes import KIND_COURSE, KIND_INFUSION_SESSION
from shared.checks import FieldChecks
from shared.errors import FhirMappingError
from shared.fhir.codes import Code
from shared.fhir.datatypes import reference_by_identifier
from shared.people import Person

FhirJson = dict[str, Any]
E = TypeVar("E", bound=enum.Enum)


@dataclass(frozen=True)
class ReceivedScore:
    patient_id: str
    course_id: str | None  # None when the resource names no course (e.g. a questionnaire from the EHR)
    score: ScaleScore


@dataclass(frozen=True)
class ReceivedCssrs:
    patient_id: str
    course_id: str | None
    screening: CssrsScreening


def course_reference(course_id: str) -> FhirJson:
    return reference_by_identifier("CarePlan", KIND_COURSE, course_id)


def session_encounter(session_id: str) -> FhirJson:
    """The infusion visit, as documentation identifies its Encounter."""
    return reference_by_identifier("Encounter", KIND_INFUSION_SESSION, session_id)


def coded(concept: FhirJson | None, codes: Mapping[E, Code]) -> E | None:
    """The enum member whose Code ``concept`` carries; None when it carries none of them."""
    for coding_ in (concept or {}).get("coding") or []:
        for member, code in codes.items():
            if coding_.get("system") == code.system and coding_.get("code") == code.code:
                return member
    return None


def required_coded(concept: FhirJson | None, codes: Mapping[E, Code], path: str) -> E:
    member = coded(concept, codes)
    if member is None:
        allowed = ", ".join(code.code for code in codes.values())
        raise FhirMappingError(path, f"expected one of the codes {allowed}")
    return member


enum_value = FieldChecks(FhirMappingError).require_member


def note_author(by: Person) -> FhirJson:
    """An Annotation's author (a progress note, a closed task's note): the clinician (or Ketalink's Device) by
    reference; one stored before people were references by name."""
    return {"authorReference": by.fhir_reference()} if by.reference else {"authorString": by.display}
