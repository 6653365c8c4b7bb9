"""The coercion check walks the validated model instead of serialising it (docs/performance.md, issue 19): it must
give exactly the verdicts of the comparison with the model's own JSON, on valid resources and on every kind of
wrong JSON type put at every element of them."""
from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

import pytest

from shared.fhir import validate
from shared.fhir.validate import FhirValidationError, validate_resource
from tests.unit.orders.builders import settings, signed
from tests.unit.shared.test_strict_fhir_json import WEIGHT
from services.orders.messages import order_event_message

PATIENT: dict[str, Any] = {
    "resourceType": "Patient", "id": "p", "gender": "male", "birthDate": "1970", "active": True,
    "multipleBirthInteger": 2, "deceasedBoolean": False,
    "name": [{"given": ["Ann", None], "_given": [None, {"extension": [{"url": "http://x", "valueString": "y"}]}]}],
    "photo": [{"data": "aGVsbG8=", "size": 5}]}
WRONG_VALUES: tuple[Any, ...] = (1, 0, 1.5, "1", "true", True, False, "2026-01-01", [], ["a"], {}, {"a": 1}, [1],
                                 [{"text": 1}], -1)


def _seeds() -> list[dict[str, Any]]:
    protocol = settings()
    message = order_event_message(signed(protocol), protocol, "http://orders.test")
    assert message is not None
    return [WEIGHT, PATIENT, *(entry["resource"] for entry in message["entry"])]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield (*path, key)
        yield from _paths(item, (*path, key))


def _changed(resource: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(resource)
    target: Any = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


def _verdict(resource: dict[str, Any]) -> Any:
    validate._passed._digests.clear()  # noqa: SLF001 - every case validated, never remembered
    try:
        validate_resource(copy.deepcopy(resource))
        return "valid"
    except FhirValidationError as error:
        return sorted(error.issues)


def _verdict_by_dump(resource: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    def unsure(*_args: Any) -> None:
        raise validate._Unsure  # noqa: SLF001 - forces the comparison with the model's JSON

    with monkeypatch.context() as patched:
        patched.setattr(validate, "_coerced_in_model", unsure)
        return _verdict(resource)


def test_the_model_walk_gives_the_verdicts_of_the_model_json(monkeypatch: pytest.MonkeyPatch) -> None:
    chooser = random.Random(19)
    cases = 0
    refused = 0
    for seed in _seeds():
        paths = [p for p in _paths(seed) if p[-1] != "resourceType"]
        for path in chooser.sample(paths, min(len(paths), 25)) + [()]:
            resource = _changed(seed, path, chooser.choice(WRONG_VALUES)) if path else seed
            walked, dumped = _verdict(resource), _verdict_by_dump(resource, monkeypatch)
            assert walked == dumped, (path, resource)
            cases += 1
            refused += walked != "valid"
    assert cases > 100 and refused > 50  # the cases did reach the check, valid and refused alike


@pytest.mark.parametrize(("path", "value", "field"), [
    (("effectiveDateTime",), 1_765_000_000, "Observation.effectiveDateTime"),
    (("valueQuantity", "value"), "80.5", "Observation.valueQuantity.value"),
    (("issued",), 0, "Observation.issued"),
])
def test_the_walk_itself_names_a_coerced_value(path: tuple[str, ...], value: Any, field: str) -> None:
    issues: list[tuple[str, str]] = []
    resource = _changed(WEIGHT, path, value)
    model = validate.get_fhir_model_class("Observation").model_validate(resource)
    validate._coerced_in_model(resource, model, "Observation", issues)  # noqa: SLF001
    assert [where for where, _ in issues] == [field]


def test_an_inbound_message_s_resources_are_remembered_once_the_bundle_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_message validates the Bundle whole (every entry with its own model); a handler's translator that
    validates one of its resources again is answered from memory, and a changed copy is validated afresh."""
    from shared.fhir.messaging import build_message, parse_message

    validate._passed._digests.clear()  # noqa: SLF001
    bundle = copy.deepcopy(build_message("vitals-recorded", "http://ehr.test", [copy.deepcopy(WEIGHT)],
                                         with_provenance=False))
    validate._passed._digests.clear()  # noqa: SLF001 - only what parse_message remembers
    observation = parse_message(bundle).first("Observation")
    validated_types: list[str] = []
    real_model_class = validate.get_fhir_model_class

    def model_class(resource_type: str) -> Any:
        validated_types.append(resource_type)
        return real_model_class(resource_type)

    monkeypatch.setattr(validate, "get_fhir_model_class", model_class)
    assert validate_resource(observation) is observation
    assert validated_types == []
    changed = {**observation, "valueQuantity": {**observation["valueQuantity"], "value": "81"}}
    with pytest.raises(FhirValidationError, match="valueQuantity.value"):
        validate_resource(changed)
    assert validated_types == ["Observation"]


def test_a_refused_message_remembers_none_of_its_resources() -> None:
    from shared.fhir.messaging import MessageError, build_message, parse_message

    bundle = copy.deepcopy(build_message("vitals-recorded", "http://ehr.test", [copy.deepcopy(WEIGHT)],
                                         with_provenance=False))
    bundle["entry"][0]["resource"]["eventCoding"]["code"] = 7  # the header is refused, the Observation is fine
    validate._passed._digests.clear()  # noqa: SLF001
    with pytest.raises(MessageError):
        parse_message(bundle)
    assert len(validate._passed._digests) == 0  # noqa: SLF001
