"""A browser that has been through a SMART launch, for the pages' tests with Flask's test client: the session goes
straight into the app's session store, as the launch callback would put it. The sandbox's FHIR API requires a token
it issued: the session holds the tests' backend token (``tests/support/backend_auth.py``) when the issuer is a sandbox
the tests started, a placeholder otherwise (a unit test that reaches no EHR)."""
from __future__ import annotations

import time

from flask import Flask
from flask.testing import FlaskClient

from shared.smart.sessions import SmartSession, digest, new_secret
from tests.support.backend_auth import suite_tokens


def signed_in(app: Flask, patient_id: str | None, *, fhir_user: str | None = None, scope: str,
              cookie: str | None = None, iss: str | None = None) -> FlaskClient:
    """A client holding a SMART session cookie for ``patient_id`` (``fhir_user`` the signed-in clinician; none:
    the EHR named nobody), issued by ``iss`` (default: the app's allowed EHR)."""
    smart = app.extensions["smart"]
    cookie = cookie or new_secret()
    now = time.time()
    iss = iss or smart.allowed_issuers[0]
    tokens = suite_tokens(iss)
    smart.store.create(SmartSession(
        session_hash=digest(cookie), iss=iss, access_token=tokens.access_token() if tokens else "token",
        access_expires_at=None, refresh_token=None, id_token=None, scope=scope, patient=patient_id, encounter=None,
        fhir_user=fhir_user, need_patient_banner=True, created_at=now, expires_at=now + 600))
    client = app.test_client()
    client.set_cookie(smart.cookie_name, cookie, domain="localhost")
    return client
