"""The FHIR client reads proxy and CA settings from the environment once (looking them up on every request was
half the CPU of preparing it, docs/performance.md), and must still honour them."""
import pytest

from shared.fhir.client import FhirClient

ENVIRONMENT = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY",
               "all_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def test_a_proxy_and_a_ca_bundle_in_the_environment_are_used(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.hospital.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/hospital-ca.pem")
    session = FhirClient("https://ehr.hospital.example/fhir")._session
    assert session.trust_env is False  # nothing is looked up again per request
    assert session.proxies.get("https") == "http://proxy.hospital.example:3128"
    assert session.verify == "/etc/ssl/hospital-ca.pem"


def test_no_proxy_for_the_ehr_host_means_no_proxy(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.hospital.example:3128")
    monkeypatch.setenv("NO_PROXY", "ehr.hospital.example")
    session = FhirClient("https://ehr.hospital.example/fhir")._session
    assert session.proxies == {} and session.verify is True
