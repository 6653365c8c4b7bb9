"""The structural validation holds FHIR JSON to its own types on every inbound path: a JSON null, a number where a
string (dateTime, code, text) is wanted, text where a decimal or boolean is wanted are refused naming the field,
never coerced. The gates that use it: an EHR read or prefetch (``validated``: a mapping error naming the element,
a 4xx at the API), a Kafka message (``parse_message``: MessageError, the dead letter's reason)."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.errors import FhirMappingError
from shared.fhir.messaging import MessageError, build_message, parse_message
from shared.fhir.reading import validated
from shared.fhir.validate import FhirValidationError, validate_bundle, validate_resource

WEIGHT: dict[str, Any] = {
    "resourceType": "Observation", "id": "w1", "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]}, "subject": {"reference": "Patient/p1"},
    "effectiveDateTime": "2026-12-06T10:00:00+01:00",
    "valueQuantity": {"value": 80.5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}}


def _with(path: str, value: Any) -> dict[str, Any]:
    resource = copy.deepcopy(WEIGHT)
    *parents, last = path.split(".")
    target = resource
    for name in parents:
        target = target[name]
    target[last] = value
    return resource


@pytest.mark.parametrize(("path", "value", "field"), [
    ("effectiveDateTime", 1_765_000_000, "Observation.effectiveDateTime"),  # was read as a 2025 instant
    ("effectiveDateTime", None, "Observation.effectiveDateTime"),
    ("issued", 0, "Observation.issued"),  # was 1970
    ("valueQuantity.value", "80.5", "Observation.valueQuantity.value"),
    ("valueQuantity", None, "Observation.valueQuantity"),
    ("code.text", None, "Observation.code.text"),
    ("code.coding", None, "Observation.code.coding"),
    ("subject.display", 7, "Observation.subject.display"),
    ("status", 1, "Observation.status"),
])
def test_a_wrong_json_type_or_a_null_is_refused_naming_the_field(path: str, value: Any, field: str) -> None:
    with pytest.raises(FhirValidationError) as refused:
        validate_resource(_with(path, value))
    assert [where for where, _what in refused.value.issues] == [field]


def test_booleans_and_integers_are_not_taken_from_text() -> None:
    patient = {"resourceType": "Patient", "id": "p1", "active": "true"}
    with pytest.raises(FhirValidationError, match="Patient.active: FHIR JSON wants a boolean here, not a string"):
        validate_resource(patient)
    observation = _with("status", "final") | {"valueInteger": "5"}
    del observation["valueQuantity"]
    with pytest.raises(FhirValidationError, match="Observation.valueInteger"):
        validate_resource(observation)


def test_valid_fhir_passes_unchanged_with_dates_decimals_and_the_primitive_null_placeholder() -> None:
    assert validate_resource(copy.deepcopy(WEIGHT)) == WEIGHT
    assert validate_resource(_with("effectiveDateTime", "2026-12-06"))
    patient = {"resourceType": "Patient", "id": "p1", "name": [{
        "given": ["Ann", None], "_given": [None, {"extension": [{"url": "https://example.org/x", "valueCode": "y"}]}]}]}
    assert validate_resource(patient) == patient  # FHIR's own null: a value and its extension kept in step
    with pytest.raises(FhirValidationError, match=r"Patient.name\[0\].given\[1\]"):
        validate_resource({"resourceType": "Patient", "name": [{"given": ["Ann", None]}]})  # no _given: not FHIR


def test_a_refused_resource_is_not_remembered_as_passed() -> None:
    bad = _with("effectiveDateTime", 20261206)
    for _ in range(2):
        with pytest.raises(FhirValidationError):
            validate_resource(bad)


def test_a_bundle_entry_names_the_entry() -> None:
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": copy.deepcopy(WEIGHT)}, {"resource": _with("effectiveDateTime", 5)}]}
    with pytest.raises(FhirValidationError, match=r"Bundle.entry\[1\].resource.effectiveDateTime"):
        validate_bundle(bundle)


def test_an_ehr_read_is_a_mapping_error_naming_the_element() -> None:
    with pytest.raises(FhirMappingError, match="Observation.valueQuantity.value"):
        validated(_with("valueQuantity.value", "80.5"), "Observation")


def test_a_kafka_message_with_a_coerced_value_is_a_message_error_for_the_dead_letter() -> None:
    message = build_message("test-event", "https://ketalink.example.org/test", [copy.deepcopy(WEIGHT)],
                            with_provenance=False)
    assert parse_message(copy.deepcopy(message))
    focus = next(entry["resource"] for entry in message["entry"] if entry["resource"]["resourceType"] == "Observation")
    focus["effectiveDateTime"] = 1_765_000_000
    with pytest.raises(MessageError, match="effectiveDateTime: FHIR JSON wants a string here, not a number"):
        parse_message(message)
