import dataclasses

import pytest

from services.intake.domain.consent import ConsentDecision, ConsentOnFile, ConsentSigner
from services.intake.translators.consent_in import consent_from_fhir
from services.intake.translators.consent_out import consent_to_fhir
from shared.errors import FhirMappingError
from shared.fhir.codes import KETALINK_LOCAL

from .builders import CONSENT_GIVEN

REFUSED = dataclasses.replace(CONSENT_GIVEN, decision=ConsentDecision.REFUSED)
BY_REPRESENTATIVE = dataclasses.replace(CONSENT_GIVEN, signed_by=ConsentSigner.LEGAL_REPRESENTATIVE,
                                        signer_name="Jordan Doe (health care proxy)")
NO_RIDE_HOME = dataclasses.replace(CONSENT_GIVEN, ride_home_agreed=False)


def test_given_consent_is_an_active_r4_consent_per_contract():
    consent = consent_to_fhir(CONSENT_GIVEN, "pat-123", "intake-0001")
    assert consent["identifier"] == [{"system": "https://ketalink.example.org/fhir/identifier/consent",
                                      "value": "intake-0001"}]
    assert consent["status"] == "active"
    assert consent["scope"]["coding"][0]["code"] == "treatment"
    assert consent["category"][0]["coding"][0]["code"] == "59284-0"
    assert consent["patient"] == {"reference": "Patient/pat-123"}
    assert consent["dateTime"] == "2026-03-02T09:30:00+00:00"
    assert consent["performer"] == [{"reference": "Patient/pat-123"}]
    assert consent["policy"] == [{"uri": "https://ketalink.example.org/fhir/consent-text/iv-ketamine-v3"}]
    assert consent["provision"]["type"] == "permit"
    ride_home = consent["provision"]["provision"][0]
    assert (ride_home["type"], ride_home["code"][0]["coding"][0]["code"]) == ("permit", "ride-home-agreement")
    assert ride_home["code"][0]["coding"][0]["system"] == KETALINK_LOCAL


def test_refusal_and_no_ride_home_are_denials():
    refused = consent_to_fhir(REFUSED, "pat-123", "i-1")
    assert (refused["status"], refused["provision"]["type"]) == ("rejected", "deny")
    assert consent_to_fhir(NO_RIDE_HOME, "pat-123", "i-1")["provision"]["provision"][0]["type"] == "deny"


def test_consent_not_recorded_is_proposed_without_date_or_performer():
    proposed = consent_to_fhir(None, "pat-123", "i-1")
    assert proposed["status"] == "proposed"
    assert "dateTime" not in proposed and "performer" not in proposed and "policyRule" in proposed


def test_representative_is_named_not_referenced():
    consent = consent_to_fhir(BY_REPRESENTATIVE, "pat-123", "i-1")
    assert consent["performer"] == [{"type": "RelatedPerson", "display": "Jordan Doe (health care proxy)"}]


@pytest.mark.parametrize("record", [CONSENT_GIVEN, REFUSED, BY_REPRESENTATIVE, NO_RIDE_HOME, None])
def test_round_trip(record):
    on_file = consent_from_fhir(consent_to_fhir(record, "pat-123", "intake-0001"))
    assert on_file == ConsentOnFile("intake-0001", "pat-123", record)


def test_orders_can_tell_whether_consent_is_on_file():
    assert consent_from_fhir(consent_to_fhir(CONSENT_GIVEN, "p", "i")).consent_given
    assert not consent_from_fhir(consent_to_fhir(REFUSED, "p", "i")).consent_given
    assert not consent_from_fhir(consent_to_fhir(None, "p", "i")).consent_given


@pytest.mark.parametrize("change, field", [
    (lambda c: c.update(identifier=[{"system": "urn:other", "value": "x"}]), "Consent.identifier"),
    (lambda c: c.update(status="inactive"), "Consent.status"),
    (lambda c: c["provision"].pop("provision"), "Consent.provision.provision"),
    (lambda c: c.update(policy=[{"uri": "https://elsewhere.example/consent"}]), "Consent.policy[0].uri"),
    (lambda c: c.pop("performer"), "Consent.performer"),
])
def test_what_cannot_be_read_is_named(change, field):
    consent = consent_to_fhir(CONSENT_GIVEN, "pat-123", "i-1")
    change(consent)
    with pytest.raises(FhirMappingError) as error:
        consent_from_fhir(consent)
    assert error.value.field == field
