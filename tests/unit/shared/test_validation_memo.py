"""Remembering validated resources (a speed-up found by ``make bench``) must never change what passes or fails."""
import copy

import pytest

from shared.fhir import validate
from shared.fhir.messaging import build_message
from shared.fhir.validate import FhirValidationError, validate_bundle, validate_resource

OBSERVATION = {"resourceType": "Observation", "status": "final", "code": {"text": "heart rate"},
               "identifier": [{"system": "urn:s", "value": "1"}]}


def test_a_resource_that_passed_once_passes_again_without_the_model_and_a_changed_copy_is_checked_anew(
        monkeypatch: pytest.MonkeyPatch):
    resource = copy.deepcopy(OBSERVATION)
    assert validate_resource(resource) is resource
    calls = []
    real = validate.get_fhir_model_class
    monkeypatch.setattr(validate, "get_fhir_model_class", lambda name: calls.append(name) or real(name))
    assert validate_resource(copy.deepcopy(OBSERVATION)) == OBSERVATION
    assert calls == []  # remembered: same content
    broken = {**OBSERVATION, "status": 5}
    with pytest.raises(FhirValidationError) as raised:
        validate_resource(broken)
    assert raised.value.issues == [("Observation.status", "Input should be a valid string")]
    assert calls == ["Observation"]
    with pytest.raises(FhirValidationError):  # a failure is never remembered as a pass
        validate_resource(broken)


def test_validate_bundle_names_the_same_field_as_validating_the_bundle_whole(monkeypatch: pytest.MonkeyPatch):
    message = build_message("vitals-recorded", "urn:ketalink:test", [copy.deepcopy(OBSERVATION)])
    assert validate_bundle(message) is message
    message["entry"][1]["resource"]["status"] = ["final"]
    with pytest.raises(FhirValidationError) as piecewise:
        validate_bundle(message)
    monkeypatch.setattr(validate, "_passed", validate._PassedRecently())  # nothing remembered: the Bundle model
    # checks everything itself
    with pytest.raises(FhirValidationError) as whole:
        validate_resource(message)
    assert piecewise.value.issues == whole.value.issues == [
        ("Bundle.entry[1].resource.status", "Input should be a valid string")]
    message["entry"][0]["fullUrl"] = 7  # the envelope is still checked
    with pytest.raises(FhirValidationError):
        validate_bundle(message)


def test_the_memory_is_bounded():
    memory = validate._PassedRecently(size=2)
    digests = [memory.digest({**OBSERVATION, "id": str(n)}) for n in range(3)]
    for digest in digests:
        assert digest is not None
        memory.add(digest)
    assert digests[0] not in memory and digests[1] in memory and digests[2] in memory
