import copy

import pytest

from shared.fhir.messaging import MessageError, ResponseCode, build_message, build_response, parse_message

PATIENT_OBSERVATION = {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                       "identifier": [{"system": "urn:s", "value": "1"}]}


def test_message_has_header_first_focus_and_a_deterministic_provenance():
    message = build_message("vitals-recorded", "urn:ketalink:test", [PATIENT_OBSERVATION], message_id="m-1",
                            author_display="Nurse N")
    entries = message["entry"]
    assert message["type"] == "message"
    header = entries[0]["resource"]
    assert header["resourceType"] == "MessageHeader" and header["id"] == "m-1"
    assert header["focus"] == [{"reference": entries[1]["fullUrl"]}]
    assert entries[2]["resource"]["resourceType"] == "Device"  # Ketalink, the Provenance's assembler
    provenance = entries[-1]["resource"]
    assert provenance["target"] == [{"reference": entries[1]["fullUrl"]}]
    again = build_message("vitals-recorded", "urn:ketalink:test", [PATIENT_OBSERVATION], message_id="m-1")
    assert again["entry"][-1]["resource"]["id"] == provenance["id"]  # same message id, same Provenance id


def test_parse_round_trip_and_response():
    request = parse_message(build_message("order-signed", "urn:a", [PATIENT_OBSERVATION], message_id="m-2"))
    assert (request.message_id, request.event_code, request.source_endpoint) == ("m-2", "order-signed", "urn:a")
    assert request.first("Observation")["status"] == "final"
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid"}]}
    response = parse_message(build_response(request, ResponseCode.FATAL_ERROR, "urn:ehr", outcome))
    assert response.response_to == "m-2"
    assert response.response_code is ResponseCode.FATAL_ERROR
    assert response.first("OperationOutcome")["issue"][0]["code"] == "invalid"


@pytest.mark.parametrize("payload, reason", [
    ([], "not a JSON object"),
    ({"resourceType": "Bundle", "type": "collection"}, "not a FHIR Bundle of type message"),
    ({"resourceType": "Bundle", "type": "message", "entry": [{"resource": {"resourceType": "Patient"}}]},
     "first entry"),
    ({"resourceType": "Bundle", "type": "message", "entry": [{"resource": {"resourceType": "Patient", "x": 1}}]},
     "invalid FHIR message"),
])
def test_malformed_messages_are_refused_with_the_reason(payload, reason):
    with pytest.raises(MessageError, match=reason):
        parse_message(payload)


@pytest.mark.parametrize("path, field", [
    (("entry", 1, "resource", "status"), r"Bundle\.entry\[1\]\.resource\.status"),
    (("entry", 0, "resource", "eventCoding", "code"), r"Bundle\.entry\[0\]\.resource\.eventCoding\.code"),
    (("timestamp",), r"Bundle\.timestamp"),
])
def test_a_json_null_anywhere_in_a_message_is_refused_naming_it(path, field):
    """The structural validation refuses it (the models alone read a null as absent, and the readers as present)."""
    payload = copy.deepcopy(build_message("order-signed", "urn:a", [PATIENT_OBSERVATION], message_id="m-3"))
    parent = payload
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = None
    with pytest.raises(MessageError, match=f"invalid FHIR message: .*{field}.*null"):
        parse_message(payload)
