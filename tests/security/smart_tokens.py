"""Bearer tokens for the security tests: real ones from the session EHR's SMART authorization server (a standalone
launch as a clinician's browser takes it, then the code exchange with PKCE), and tokens that server would never
issue (expired, another issuer or audience, another key), signed here with the sandbox's own key.

Why sign with the EHR's key: a token with a wrong ``iss`` or ``aud`` or a past ``exp`` signed by any other key is
refused for its signature alone; only the EHR's key shows that each claim is checked on its own."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from deploy.ehr_sandbox.smart.settings import AppRegistration, SmartServerSettings, default_apps
from shared.smart.tokens import unverified_claims
from tests.integration.smart.support import Browser, query_of

CLINICIAN = "dr.okoye"


@dataclass(frozen=True)
class EhrAuthorization:
    """The session EHR's SMART endpoints, the clients registered there (one per service: each service accepts
    tokens issued to its own client only) and the key it signs tokens with."""

    fhir_base_url: str
    authorization_endpoint: str
    token_endpoint: str
    apps: dict[str, AppRegistration]  # service name → its registration (``ketalink-<service>``)
    signing_key_path: Path
    demo_password: str

    @classmethod
    def of_sandbox(cls, fhir_base_url: str, sandbox_env: dict[str, str]) -> "EhrAuthorization | None":
        """None unless the EHR is the sandbox's own server with its SMART authorization server (not HAPI FHIR or an
        external EHR, which the sandbox only seeds and feeds)."""
        try:
            answer = requests.get(f"{fhir_base_url}/.well-known/smart-configuration", timeout=10)
            configuration = answer.json() if answer.status_code == 200 else {}
        except (requests.RequestException, ValueError):
            configuration = {}
        data_dir = sandbox_env.get("EHR_SANDBOX_DATA_DIR")
        key_path = Path(data_dir) / "smart" / "smart-signing-key.json" if data_dir else None
        if "authorization_endpoint" not in configuration or key_path is None or not key_path.is_file():
            return None
        apps = {app.client_id.removeprefix("ketalink-"): app for app in default_apps(sandbox_env)}
        return cls(fhir_base_url, configuration["authorization_endpoint"], configuration["token_endpoint"],
                   apps, key_path,
                   sandbox_env.get("EHR_SANDBOX_SMART_DEMO_PASSWORD") or SmartServerSettings().demo_password)

    # -- real tokens -------------------------------------------------------------------------------------------
    def issue(self, scope: str, patient_id: str | None = None, *, service: str = "intake",
              user: str = CLINICIAN) -> dict[str, Any]:
        """The EHR's token response to ``service``'s client for a standalone launch granting ``scope`` to ``user``,
        with ``patient_id`` picked as the patient in context (scopes ``launch/patient`` or ``patient/...`` make the
        EHR ask for one). The redirect to the registered ``redirect_uri`` is never followed: the code is taken
        from it."""
        app = self.apps[service]
        client_id, redirect_uri = app.client_id, app.redirect_uris[0]
        browser = Browser()
        verifier = secrets.token_urlsafe(48)
        challenge = _b64(hashlib.sha256(verifier.encode()).digest())
        state = secrets.token_urlsafe(16)
        page = browser.get(f"{self.authorization_endpoint}?" + urlencode({
            "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
            "scope": scope, "state": state, "aud": self.fhir_base_url,
            "code_challenge": challenge, "code_challenge_method": "S256"}))
        if "/smart/login" in page.url:
            page = browser.submit(page, values={"username": user, "password": self.demo_password})
        assert page.status_code == 200 and "Approve" in page.text, f"no approval page: {page.status_code}"
        answer = browser.submit(page, button="approve", values={"patient": patient_id} if patient_id else None,
                                allow_redirects=False)
        assert answer.status_code == 302 and answer.headers["Location"].startswith(redirect_uri), answer.text
        returned = query_of(answer.headers["Location"])
        assert returned.get("state") == state and "code" in returned, returned
        token = requests.post(self.token_endpoint, data={
            "grant_type": "authorization_code", "code": returned["code"], "redirect_uri": redirect_uri,
            "client_id": client_id, "code_verifier": verifier}, timeout=20)
        assert token.status_code == 200, token.text
        response = token.json()
        assert response.get("patient") == patient_id, "the EHR put another patient in context"
        return response

    # -- tokens the EHR never issues ---------------------------------------------------------------------------
    def signing_key(self) -> RSAKey:
        return RSAKey.import_key(json.loads(self.signing_key_path.read_text()))

    def sign(self, claims: dict[str, Any], key: RSAKey | None = None, kid: str | None = None) -> str:
        """``claims`` as an RS256 JWT signed by ``key`` (default: the EHR's own) under key id ``kid`` (default: the
        key's own id)."""
        key = key or self.signing_key()
        return jwt.encode({"alg": "RS256", "kid": kid or key.kid or key.thumbprint()}, claims, key)

    def hs256_with_public_key(self, claims: dict[str, Any]) -> str:
        """The "algorithm confusion" forgery: HS256 with the EHR's public key (which anyone can fetch) as secret."""
        signing_input = f"{_segment({'alg': 'HS256', 'kid': self.signing_key().kid})}.{_segment(claims)}"
        secret = self.signing_key().as_pem(private=False)  # joserfc itself refuses to do this, so by hand
        return f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def claims_of(token: str) -> dict[str, Any]:
    return unverified_claims(token)


def unsigned(claims: dict[str, Any]) -> str:
    """An ``alg: none`` JWT (no signature) carrying ``claims``."""
    return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(claims)}."


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value).encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def expired(claims: dict[str, Any], seconds_ago: int = 600) -> dict[str, Any]:
    """The claims of a token that expired ``seconds_ago`` (well beyond any allowed clock skew)."""
    now = int(time.time())
    return claims | {"iat": now - 3600 - seconds_ago, "exp": now - seconds_ago}
