"""People by reference (``shared/people.py``, ``shared.roles.acting_person``): who acts comes from the SMART context,
never from the body; a backend client acts only for a Practitioner it names; old stored names still load; every
message names its author and Ketalink (the Device) by reference."""
from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from flask import Flask, g

from shared import roles as roles_module
from shared.fhir.client import FhirNotFound, FhirUnavailable
from shared.fhir.messaging import build_message, parse_message
from shared.people import KETALINK_DEVICE_URL, Person, ketalink, name_of
from shared.records import JsonRecord, RecordError
from shared.roles import acting_person
from shared.smart import SmartAuthError, SmartContext

ISS = "https://ehr.example.org/fhir"
CLINICIAN = SmartContext(source="session", iss=ISS, access_token="t", scopes=(), patient="p1", encounter=None,
                         fhir_user=f"{ISS}/Practitioner/md-1", session_hash="s1")
BACKEND = SmartContext(source="bearer", iss=ISS, access_token="system-token", scopes=("system/*.rs",),
                       patient=None, encounter=None, fhir_user=None)


@dataclass(frozen=True)
class Signed(JsonRecord):
    what: str
    by: Person
    witness: Person | None = None


class StandInEhr:
    """The EHR's Practitioner reads, as the service's own client would answer them."""

    def __init__(self, resources: dict[str, dict] | None = None, down: bool = False):
        self.resources = resources or {}
        self.down = down

    def read(self, resource_type: str, resource_id: str) -> dict:
        if self.down:
            raise FhirUnavailable(503, ["EHR down"])
        try:
            return self.resources[f"{resource_type}/{resource_id}"]
        except KeyError:
            raise FhirNotFound(404, ["not found"]) from None


@pytest.fixture()
def app() -> Flask:
    return Flask(__name__)


def test_a_person_round_trips_and_an_old_plain_name_still_loads():
    record = Signed("note", Person("Practitioner/md-1", "Dr. Adaeze Okoye"), Person(None, "Grace Ng"))
    assert Signed.from_dict(record.to_dict()) == record
    old_row = {"what": "note", "by": "Dr. Adaeze Okoye", "witness": ""}  # stored before people were references
    assert Signed.from_dict(old_row) == Signed("note", Person(None, "Dr. Adaeze Okoye"), None)
    with pytest.raises(RecordError, match="by"):
        Signed.from_dict({"what": "note", "by": 42})
    with pytest.raises(RecordError):
        Signed.from_dict({"what": "note", "by": {"reference": "http://evil/x", "display": "X"}})


def test_a_person_is_written_as_a_reference_with_its_display():
    assert Person("Practitioner/md-1", "Dr. Okoye").fhir_reference() == {"reference": "Practitioner/md-1",
                                                                          "display": "Dr. Okoye"}
    assert Person.from_fhir({"reference": "PractitionerRole/r1", "display": "Nurse"}) == Person(
        "PractitionerRole/r1", "Nurse")
    assert Person.from_fhir({"display": "Typed"}) == Person(None, "Typed")
    assert Person.from_fhir({}) is None
    assert ketalink("Ketalink orders service").resource_type == "Device"
    for bad in ("", " ", "x" * 201):
        with pytest.raises(ValueError):
            Person("Practitioner/1", bad)


def test_names_are_read_from_the_ehr_resource():
    assert name_of({"resourceType": "Practitioner", "name": [{"use": "usual", "text": "G"}, {
        "use": "official", "given": ["Grace"], "family": "Ng"}]}) == "Grace Ng"
    assert name_of({"resourceType": "PractitionerRole", "practitioner": {"display": "Dr. Okoye"}}) == "Dr. Okoye"
    assert name_of({"resourceType": "Practitioner"}) is None


def test_the_clinician_of_the_launch_acts_whatever_the_body_names(monkeypatch, app):
    monkeypatch.setattr(roles_module, "clinician_name", lambda context: "Dr. Adaeze Okoye")
    with app.test_request_context():
        acting = acting_person(CLINICIAN, "Dr. Somebody Else")
        assert acting == Person("Practitioner/md-1", "Dr. Adaeze Okoye")
        with pytest.raises(SmartAuthError) as refused:
            acting_person(CLINICIAN, "x", on_behalf_of="Practitioner/md-2")
        assert refused.value.status == 403
        monkeypatch.setattr(roles_module, "clinician_name", lambda context: None)  # the EHR gave no name
        assert acting_person(CLINICIAN, "Typed") == Person("Practitioner/md-1", "Practitioner/md-1")
        with pytest.raises(SmartAuthError) as not_clinician:
            acting_person(replace(CLINICIAN, fhir_user=f"{ISS}/Patient/p1"), "x")
        assert not_clinician.value.status == 403
        with pytest.raises(SmartAuthError) as unknown:
            acting_person(replace(CLINICIAN, fhir_user=None), "Typed")  # a launch that named nobody
        assert unknown.value.status == 403


def test_a_backend_client_acts_only_for_a_practitioner_the_ehr_has(app):
    ehr = StandInEhr({"Practitioner/md-1": {"resourceType": "Practitioner", "id": "md-1", "name": [
        {"text": "Dr. Adaeze Okoye"}]}, "Practitioner/gone": {"resourceType": "Practitioner", "active": False}})
    with app.test_request_context():
        assert acting_person(BACKEND, "Typed", on_behalf_of="Practitioner/md-1", ehr=ehr) == Person(
            "Practitioner/md-1", "Dr. Adaeze Okoye")
        for on_behalf_of, ehr_used, status in ((None, ehr, 403), ("Patient/p1", ehr, 422), ("Dr. X", ehr, 422),
                                               ("Practitioner/nobody", ehr, 422), ("Practitioner/gone", ehr, 422),
                                               ("Practitioner/md-1", StandInEhr(down=True), 502)):
            with pytest.raises(SmartAuthError) as refused:
                acting_person(BACKEND, "Dr. Typed", on_behalf_of=on_behalf_of, ehr=ehr_used)
            assert refused.value.status == status, on_behalf_of


def test_with_smart_off_the_typed_name_is_all_there_is(app):
    with app.test_request_context():
        g.smart_auth_required = False
        assert acting_person(None, " Dr. Typed ") == Person(None, "Dr. Typed")
        with pytest.raises(SmartAuthError) as missing:
            acting_person(None, "  ")
        assert missing.value.status == 400  # bad input, as the name field always was
        g.smart_auth_required = True
        with pytest.raises(SmartAuthError) as refused:
            acting_person(None, "Dr. Typed")
        assert refused.value.status == 401


def test_a_message_names_its_author_and_ketalink_by_reference():
    message = parse_message(build_message("order-signed", "urn:ketalink:orders", [{"resourceType": "Basic",
                                                                                   "code": {"text": "x"}}],
                                          author=Person("Practitioner/md-1", "Dr. Okoye")))
    provenance = message.first("Provenance")
    agents = {agent["type"]["coding"][0]["code"]: agent["who"] for agent in provenance["agent"]}
    assert agents["author"] == {"reference": "Practitioner/md-1", "display": "Dr. Okoye"}
    assert agents["assembler"]["reference"] == KETALINK_DEVICE_URL
    device = message.first("Device")
    assert device["identifier"][0]["value"] == "ketalink"
    device_entries = [e for e in message.bundle["entry"] if e["resource"]["resourceType"] == "Device"]
    assert [e["fullUrl"] for e in device_entries] == [KETALINK_DEVICE_URL]
    assert KETALINK_DEVICE_URL not in message.focus_references  # the Device is not what the message is about
    bare = parse_message(build_message("x", "urn:test", [{"resourceType": "Basic", "code": {"text": "x"}}],
                                       with_provenance=False))
    assert bare.first("Device") is None  # nothing refers to it
