"""The start-up check of what a service needs against the EHR's CapabilityStatement (shared/fhir/capabilities.py):
each missing interaction or search parameter is named; an EHR that is down or answers nonsense is only warned
about, and never delays the start. The same check against the sandbox's real statement is in
tests/integration/test_fhir_client.py."""
from __future__ import annotations

import logging
import socket
import time

import pytest

from deploy.local.ports import free_port
from shared.fhir.capabilities import (
    PAGE_NEEDS, check_in_background, missing_capabilities, read, search, warn_about_missing_capabilities,
)
from shared.fhir.client import FhirClient
from tests.unit.shared.recording_server import recording_server

NEEDS = (
    read("Patient", "the dose"),
    search("Observation", ("subject", "code", "status", "date", "_sort", "_count"), "the dosing weight"),
    search("RiskAssessment", ("subject",), "the banner's eligibility"),
)


def _statement(*resources: dict, common: tuple[str, ...] = ()) -> dict:
    rest: dict = {"mode": "server", "resource": list(resources)}
    if common:
        rest["searchParam"] = [{"name": name, "type": "token"} for name in common]
    return {"resourceType": "CapabilityStatement", "status": "active", "kind": "instance", "fhirVersion": "4.0.1",
            "rest": [rest]}


def _resource(resource_type: str, interactions: tuple[str, ...], parameters: tuple[str, ...] = ()) -> dict:
    return {"type": resource_type, "interaction": [{"code": code} for code in interactions],
            "searchParam": [{"name": name, "type": "token"} for name in parameters]}


def test_a_statement_listing_every_need_leaves_nothing_missing():
    statement = _statement(_resource("Patient", ("read", "search-type")),
                           _resource("Observation", ("read", "search-type"), ("subject", "code", "status", "date")),
                           _resource("RiskAssessment", ("search-type",), ("subject", "patient")))
    assert missing_capabilities(statement, NEEDS) == []


def test_each_missing_type_interaction_and_search_parameter_is_named_with_what_it_is_for():
    statement = _statement(_resource("Patient", ("search-type",)),  # no read
                           _resource("Observation", ("search-type",), ("subject", "code", "date")))  # no status
    assert missing_capabilities(statement, NEEDS) == [
        "Patient read is not listed: needed for the dose",
        "Observation search parameter status is not listed: needed for the dosing weight",
        "RiskAssessment is not listed: search-type is needed for the banner's eligibility",
    ]


def test_search_parameters_listed_for_every_type_count_and_result_parameters_are_not_asked_for():
    statement = _statement(_resource("Patient", ("read",)),
                           _resource("Observation", ("search-type",), ("code", "status", "date")),
                           _resource("RiskAssessment", ("search-type",)), common=("subject",))
    assert missing_capabilities(statement, NEEDS) == []


def test_a_client_mode_rest_is_not_what_the_server_offers():
    statement = _statement(_resource("Patient", ("read",)))
    statement["rest"][0]["mode"] = "client"
    assert missing_capabilities(statement, NEEDS[:1]) == [
        "Patient is not listed: read is needed for the dose"]


def test_what_is_not_a_capability_statement_is_refused():
    with pytest.raises(ValueError):
        missing_capabilities({"resourceType": "OperationOutcome"}, NEEDS)


def test_the_gaps_are_logged_as_warnings_one_each(caplog: pytest.LogCaptureFixture):
    statement = _statement(_resource("Patient", ("read",)))
    with recording_server(lambda method, path: (200, statement)) as ehr, \
            caplog.at_level(logging.WARNING, logger="shared.fhir.capabilities"):
        gaps = warn_about_missing_capabilities(FhirClient(ehr.base_url), NEEDS)
    assert [(r.method, r.path) for r in ehr.requests] == [("GET", "/fhir/metadata")]
    assert gaps is not None and len(gaps) == 2
    assert [r.ehr_need for r in caplog.records if r.levelno == logging.WARNING] == gaps


def test_an_answer_that_is_not_a_capability_statement_is_warned_about(caplog: pytest.LogCaptureFixture):
    with recording_server(lambda method, path: (200, {"resourceType": "Bundle"})) as ehr, \
            caplog.at_level(logging.WARNING, logger="shared.fhir.capabilities"):
        assert warn_about_missing_capabilities(FhirClient(ehr.base_url), NEEDS) is None
    assert [r.error for r in caplog.records] == ["ValueError"]


def test_an_ehr_that_is_down_is_warned_about_and_nothing_raises(caplog: pytest.LogCaptureFixture):
    ehr = FhirClient(f"http://127.0.0.1:{free_port()}/fhir", timeout_s=0.5, retries=0)
    with caplog.at_level(logging.WARNING, logger="shared.fhir.capabilities"):
        assert warn_about_missing_capabilities(ehr, PAGE_NEEDS) is None
    assert [r.getMessage() for r in caplog.records] == [
        "the EHR's CapabilityStatement could not be read; what this service needs of the EHR is unchecked"]


def test_an_ehr_that_never_answers_does_not_delay_the_start():
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        ehr = FhirClient(f"http://127.0.0.1:{silent.getsockname()[1]}/fhir", timeout_s=2.0, retries=0)
        started = time.monotonic()
        thread = check_in_background(ehr, PAGE_NEEDS, attempts=1)
        assert time.monotonic() - started < 0.5 and thread.daemon
        assert thread.is_alive()  # still waiting for the EHR while the service goes on starting
        thread.join(timeout=5)
        assert not thread.is_alive()


def test_an_ehr_still_starting_is_asked_again_and_warned_about_once(caplog: pytest.LogCaptureFixture):
    ehr = FhirClient(f"http://127.0.0.1:{free_port()}/fhir", timeout_s=0.5, retries=0)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="shared.fhir.capabilities"):
        assert warn_about_missing_capabilities(ehr, PAGE_NEEDS, attempts=3, wait_s=0.1) is None
    assert time.monotonic() - started >= 0.2  # two waits between three attempts
    assert len(caplog.records) == 1 and caplog.records[0].error == "FhirUnavailable"


def test_an_ehr_that_answers_on_a_later_attempt_is_checked(caplog: pytest.LogCaptureFixture):
    statement = _statement(_resource("Patient", ("read",)))
    answers = iter([(503, {"resourceType": "OperationOutcome", "issue": []})])
    with recording_server(lambda method, path: next(answers, (200, statement))) as ehr, \
            caplog.at_level(logging.WARNING, logger="shared.fhir.capabilities"):
        gaps = warn_about_missing_capabilities(FhirClient(ehr.base_url, retries=0), NEEDS, attempts=3, wait_s=0.05)
    assert gaps is not None and len(gaps) == 2 and len(ehr.requests) == 2
