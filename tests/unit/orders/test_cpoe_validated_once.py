"""A CPOE MedicationRequest is validated once, where it enters: ``parse_message`` validates the message Bundle whole,
so the handler reads the request without validating it again (issue 19), and what the second validation used to
catch is refused at the boundary instead, before any handler runs."""
from __future__ import annotations

import copy

import pytest

from shared.errors import FhirMappingError
from shared.fhir import validate
from shared.fhir.messaging import MessageError, build_message, parse_message
from services.orders.translators.medication_request_in import prescribed_infusion
from tests.unit.orders.builders import cpoe_medication_request


def _placed(request: dict) -> dict:
    return build_message("cpoe-order-placed", "http://ehr.test/engine", [request], with_provenance=False)


def test_the_request_from_a_parsed_message_reads_as_a_validated_one(monkeypatch: pytest.MonkeyPatch) -> None:
    message = parse_message(_placed(cpoe_medication_request()))
    request = message.first("MedicationRequest")
    validations: list[str] = []

    def model_class(resource_type: str) -> None:
        validations.append(resource_type)
        raise AssertionError(f"{resource_type} validated a second time")

    monkeypatch.setattr(validate, "get_fhir_model_class", model_class)
    validate._passed._digests.clear()  # noqa: SLF001 - no remembered pass either: the read itself validates nothing
    checked_in = prescribed_infusion(request, checked_in_message=True)
    monkeypatch.undo()
    assert validations == []
    assert checked_in == prescribed_infusion(copy.deepcopy(request))  # validated here, and read the same


@pytest.mark.parametrize(("field", "value"), [
    ("dispenseRequest", {"numberOfRepeatsAllowed": "5"}),  # a coerced integer
    ("authoredOn", 1_765_000_000),  # a number for a dateTime
    ("intent", None),  # a JSON null
])
def test_what_the_second_validation_caught_is_refused_at_the_boundary(field: str, value: object) -> None:
    request = cpoe_medication_request()
    request[field] = value
    bundle = _placed(cpoe_medication_request())
    bundle["entry"][1]["resource"] = request
    with pytest.raises(MessageError, match=field):
        parse_message(bundle)
    with pytest.raises(FhirMappingError):
        prescribed_infusion(request)  # read on its own (a CDS draft), the request is validated


def test_a_checked_in_resource_of_another_type_is_refused() -> None:
    with pytest.raises(FhirMappingError, match="expected a MedicationRequest"):
        prescribed_infusion({"resourceType": "Observation"}, checked_in_message=True)
