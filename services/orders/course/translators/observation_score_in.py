"""Survey Observation (as ``observation_score_out`` writes it) → a score or C-SSRS screener, scored again from its
item components: a total or risk that disagrees with the items is refused, so an Observation can never carry a
score its answers do not give. An Observation without item components cannot be scored and is refused (read the
QuestionnaireResponse it is derived from instead). The C-SSRS risk is recomputed with the clinic's settings."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from services.orders.course.domain.errors import CourseInputError
from services.orders.course.domain.measurements import ScoreContext, cssrs_screening, scale_score
from services.orders.course.domain.settings import CourseSettings
from services.orders.course.translators.codes import (
    CSSRS_ITEMS,
    CSSRS_RISK_CODES,
    KIND_COURSE,
    KIND_INFUSION_SESSION,
    KIND_INTAKE_QUESTIONNAIRE_RESPONSE,
    KIND_QUESTIONNAIRE_RESPONSE,
    KIND_SCORE,
    SCALE_ITEMS,
    SCALE_TOTALS,
    SCORE_CONTEXT_CODES,
    SCORE_SOURCE_CODES,
    SCORE_UNIT,
)
from services.orders.course.translators.common import (
    FhirJson,
    ReceivedCssrs,
    ReceivedScore,
    coded,
    required_coded,
)
from shared.errors import FhirMappingError
from shared.fhir.reading import moment, patient_id_of, referenced_identifier, validated
from shared.fhir.codes import CSSRS_RISK
from shared.fhir.datatypes import find_identifier, has_coding, read_quantity, reference_id
from shared.fhir.vital_signs import USABLE_STATUSES
from shared.people import Person
from shared.scales import ScaleError, checked_items


def score_from_observation(resource: FhirJson) -> ReceivedScore:
    resource = validated(resource, "Observation")
    scale = required_coded(resource.get("code"), SCALE_TOTALS, "Observation.code")
    header = _header(resource)
    codes = SCALE_ITEMS[scale]
    given: list[Any] = [None] * len(codes)
    for index, component in enumerate(resource.get("component") or []):
        number = next((n for n, code in enumerate(codes) if has_coding(component.get("code"), code)), None)
        if number is not None:
            given[number] = component.get("valueInteger")
    try:
        items = checked_items(scale, given)
    except ScaleError as error:
        raise FhirMappingError(f"Observation.component[{_item_code(error.field, codes)}]", error.message) from None
    score = scale_score(header["measurement_id"], scale, items, header["measured_at"], header["source"],
                        header["context"], session_id=header["session_id"], recorded_by=header["recorded_by"],
                        ehr_questionnaire_response_id=header["ehr_id"])
    try:
        stated = read_quantity(resource.get("valueQuantity"), SCORE_UNIT)
    except ValueError as error:
        raise FhirMappingError("Observation.valueQuantity", str(error)) from None
    if stated is not None and stated != score.total_score:
        raise FhirMappingError("Observation.valueQuantity", f"total {stated:g} disagrees with the items "
                                                            f"({score.total_score})")
    return ReceivedScore(header["patient_id"], header["course_id"], replace(score, rescored=header["rescored"]))


def cssrs_from_observation(resource: FhirJson, settings: CourseSettings) -> ReceivedCssrs:
    resource = validated(resource, "Observation")
    if not has_coding(resource.get("code"), CSSRS_RISK):
        raise FhirMappingError("Observation.code", f"expected the C-SSRS screener risk ({CSSRS_RISK.code})")
    header = _header(resource)
    answers = {}
    for component in resource.get("component") or []:
        item = next((i for i, code in CSSRS_ITEMS.items() if has_coding(component.get("code"), code)), None)
        if item is not None:
            answers[item] = component.get("valueBoolean")
    try:
        screening = cssrs_screening(header["measurement_id"], answers, header["measured_at"], header["source"],
                                    header["context"], settings, session_id=header["session_id"],
                                    recorded_by=header["recorded_by"], ehr_questionnaire_response_id=header["ehr_id"])
    except CourseInputError as error:
        raise FhirMappingError(f"Observation.component[{error.field.removeprefix('cssrs.')}]", error.message) from None
    stated = coded(resource.get("valueCodeableConcept"), CSSRS_RISK_CODES)
    if stated is not None and stated is not screening.risk:
        raise FhirMappingError("Observation.valueCodeableConcept", f"risk {stated.value} disagrees with the answers "
                                                                   f"({screening.risk.value} by this clinic's rule)")
    return ReceivedCssrs(header["patient_id"], header["course_id"], replace(screening, rescored=header["rescored"]))


def _header(resource: FhirJson) -> dict[str, Any]:
    status = resource.get("status")
    if status not in USABLE_STATUSES:
        raise FhirMappingError("Observation.status", f"{status!r} is not a usable result")
    measurement_id = find_identifier(resource, KIND_SCORE)
    if not measurement_id:
        raise FhirMappingError("Observation.identifier", "the Ketalink score identifier is missing")
    derived = (resource.get("derivedFrom") or [{}])[0]
    own_response = (referenced_identifier([derived], KIND_QUESTIONNAIRE_RESPONSE)
                    or referenced_identifier([derived], KIND_INTAKE_QUESTIONNAIRE_RESPONSE))
    ehr_id = None if own_response else reference_id(derived, "QuestionnaireResponse")
    if not own_response and not ehr_id:
        raise FhirMappingError("Observation.derivedFrom", "a score is derived from its QuestionnaireResponse")
    categories = resource.get("category") or []
    context = next((c for c in (coded(concept, SCORE_CONTEXT_CODES) for concept in categories) if c), None)
    performer = (resource.get("performer") or [{}])[0]
    encounter = resource.get("encounter")
    return {
        "patient_id": patient_id_of(resource.get("subject"), "Observation.subject"),
        "course_id": referenced_identifier(resource.get("basedOn"), KIND_COURSE),
        "measurement_id": measurement_id,
        "ehr_id": ehr_id,
        "source": required_coded(resource.get("method"), SCORE_SOURCE_CODES, "Observation.method"),
        "context": context or ScoreContext.FOLLOW_UP,
        "measured_at": moment(resource.get("effectiveDateTime"), "Observation.effectiveDateTime"),
        "session_id": referenced_identifier([encounter] if encounter else [], KIND_INFUSION_SESSION),
        "recorded_by": None if reference_id(performer, "Patient") else Person.from_fhir(performer),
        "rescored": status != "final",
    }


def _item_code(field: str, codes: tuple) -> str:
    if field.startswith("items[") and field.endswith("]"):
        return codes[int(field[6:-1])].code
    return "*"


