"""The tests' side of SMART Backend Services. The sandbox's FHIR API requires a bearer token, so every test that
reads or writes it directly does so as a registered backend client, with a token obtained the way the services obtain
theirs (``shared/smart/backend.py``: client_credentials with a private_key_jwt assertion).

``tests.support.processes.ehr_sandbox`` makes the keys in the sandbox's data directory (with the sandbox's own
function) before the sandbox starts, which registers their public parts, and records the sandbox here by its FHIR base
URL. ``service()`` then gives each service process its own backend client's key, and ``ehr_client(base_url)`` is a
``FhirClient`` with the tests' token. An EHR the tests did not start (``EHR_FHIR_BASE_URL``) is not known here:
its clients send no token, and the services run with ``EHR_BACKEND_AUTH=none``. Under ``make test-hapi`` the sandbox
in front of HAPI serves the token endpoint on its own port and everything takes its tokens there
(``EHR_BACKEND_TOKEN_URL``); HAPI checks none, but the services' token path is the one a real EHR needs."""
from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from deploy.ehr_sandbox.smart.backend import backend_key_dir, ensure_backend_keys
from deploy.ehr_sandbox.smart.settings import DEFAULT_BACKEND_CLIENTS
from shared.fhir.client import FhirClient
from shared.smart.backend import BackendAuthSettings, BackendTokens

#: The tests' own backend client: reads and writes (the tests create the clinicians and records they need).
TEST_CLIENT_ID = "ketalink-tests"
TEST_SCOPES = "system/*.cruds"
BACKEND_CLIENTS = (*DEFAULT_BACKEND_CLIENTS, TEST_CLIENT_ID)

_sandboxes: dict[str, Path] = {}  # FHIR base URL → the sandbox's data directory
_token_urls: dict[str, str] = {}  # FHIR base URL → the sandbox's token endpoint, where discovery cannot find it
_tokens: dict[str, BackendTokens] = {}  # FHIR base URL → the tests' token source (one token per test session)
_lock = threading.Lock()


def sandbox_backend_environment(fhir_base_url: str, data_dir: Path, token_url: str = "") -> dict[str, str]:
    """The sandbox's environment that registers the services' backend clients and the tests' (keys made now).
    ``token_url``: the sandbox's token endpoint when ``fhir_base_url`` is another server's, whose
    smart-configuration does not name it (HAPI in ``make test-hapi``)."""
    ensure_backend_keys(backend_key_dir(data_dir), BACKEND_CLIENTS)
    with _lock:
        _sandboxes[fhir_base_url.rstrip("/")] = data_dir
        if token_url:
            _token_urls[fhir_base_url.rstrip("/")] = token_url
    return {"EHR_SANDBOX_SMART_BACKEND_CLIENTS": ",".join(BACKEND_CLIENTS)}


def service_backend_environment(service: str, fhir_base_url: str) -> dict[str, str]:
    """A service process's ``EHR_BACKEND_*``: its own backend client's key at the sandbox it talks to."""
    data_dir = _sandboxes.get(fhir_base_url.rstrip("/"))
    if data_dir is None:
        return {"EHR_BACKEND_AUTH": "none"}
    client_id = f"ketalink-{service}-backend"
    token_url = _token_urls.get(fhir_base_url.rstrip("/"))
    return {"EHR_BACKEND_CLIENT_ID": client_id,
            "EHR_BACKEND_PRIVATE_KEY_FILE": str(backend_key_dir(data_dir) / f"{client_id}.pem"),
            **({"EHR_BACKEND_TOKEN_URL": token_url} if token_url else {})}


def backend_key_path(fhir_base_url: str, client_id: str) -> Path:
    """Where the sandbox at ``fhir_base_url`` keeps ``client_id``'s private key (made if missing)."""
    data_dir = _sandboxes[fhir_base_url.rstrip("/")]
    return ensure_backend_keys(backend_key_dir(data_dir), (client_id,))[client_id]


def backend_tokens(fhir_base_url: str, *, client_id: str = TEST_CLIENT_ID, scopes: str = TEST_SCOPES,
                   settings: BackendAuthSettings | None = None) -> BackendTokens:
    """A new token source for ``client_id`` (default: the tests' client, read-write) at the sandbox."""
    path = backend_key_path(fhir_base_url, client_id)
    settings = replace(settings or BackendAuthSettings(), client_id=client_id, private_key_file=str(path),
                       scopes=scopes)
    if not settings.token_url and fhir_base_url.rstrip("/") in _token_urls:
        settings = replace(settings, token_url=_token_urls[fhir_base_url.rstrip("/")])
    return BackendTokens(settings, client_id, fhir_base_url)


def suite_tokens(fhir_base_url: str) -> BackendTokens | None:
    """The tests' shared token source at this sandbox; None for an EHR the tests did not start."""
    base_url = fhir_base_url.rstrip("/")
    with _lock:
        if base_url not in _sandboxes:
            return None
        if base_url not in _tokens:
            _tokens[base_url] = backend_tokens(base_url)
        return _tokens[base_url]


def service_tokens(service: str, fhir_base_url: str) -> BackendTokens | None:
    """A service's own backend token source (``ketalink-<service>-backend``, ``system/*.rs``, as the service asks
    by default), for a service built in the test's process; None for an EHR the tests did not start."""
    if fhir_base_url.rstrip("/") not in _sandboxes:
        return None
    return backend_tokens(fhir_base_url, client_id=f"ketalink-{service}-backend", scopes="system/*.rs")


def ehr_client(fhir_base_url: str, *, timeout_s: float = 10.0, retries: int = 3) -> FhirClient:
    """A ``FhirClient`` that sends the tests' backend token."""
    return FhirClient(fhir_base_url, timeout_s=timeout_s, retries=retries, tokens=suite_tokens(fhir_base_url))


def bearer_headers(fhir_base_url: str) -> dict[str, str]:
    """``Authorization`` for a raw request to the sandbox's FHIR API (none for an EHR the tests did not start)."""
    tokens = suite_tokens(fhir_base_url)
    return {"Authorization": f"Bearer {tokens.access_token()}"} if tokens else {}
