"""The CDS Hooks JWT checks one by one, at exact moments (a fixed clock), with a pinned JWKS file the test writes;
and the settings that configure them, refused at start-up when wrong."""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from shared.config import SettingsError, load_settings
from services.orders.cds_hooks.auth import CdsAuthError, CdsTokenVerifier
from services.orders.cds_hooks.settings import CdsHooksSettings

ISS = "https://ehr.example.test"
AUD = "https://ketalink.example.test/cds-services/ketamine-order-sign"
NOW = 1_800_000_000


class Jtis:
    """What the ``cds_jtis`` table does, in memory (the table itself is exercised by the integration tests)."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, iss: str, jti: str, expires_at: int) -> bool:
        if (iss, jti) in self.seen:
            return True
        self.seen.add((iss, jti))
        return False


@pytest.fixture
def key() -> ECKey:
    return ECKey.generate_key("P-384", parameters={"kid": "k1"})


@pytest.fixture
def verifier(key: ECKey, tmp_path: Path) -> CdsTokenVerifier:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    settings = load_settings(CdsHooksSettings, "ORDERS_CDS_", {
        "ORDERS_CDS_TRUSTED_ISSUERS": json.dumps({ISS: {"jwks_file": str(path)}}), "ORDERS_CDS_LEEWAY_S": "5"})
    return CdsTokenVerifier(settings, clock=lambda: NOW)


def _token(key: Any, alg: str = "ES384", header: dict[str, Any] | None = None, **claims: Any) -> str:
    body = {"iss": ISS, "sub": "ehr-client", "aud": AUD, "iat": NOW, "exp": NOW + 60, "jti": str(uuid.uuid4())}
    body |= claims
    return jwt.encode({"alg": alg, "kid": "k1"} | (header or {}), {k: v for k, v in body.items() if v is not None},
                      key, algorithms=[alg])


def _raw_token(key: Any, payload: str) -> str:
    """A token whose payload is exactly ``payload`` (``Infinity`` and ``NaN`` are not JSON a builder writes)."""
    from joserfc import jws
    return jws.serialize_compact({"alg": "ES384", "kid": "k1"}, payload.encode(), key, algorithms=["ES384"])


def test_non_finite_times_are_malformed(verifier: CdsTokenVerifier, key: ECKey) -> None:
    for exp, iat in (("Infinity", str(NOW)), (str(NOW + 60), "NaN")):
        payload = (f'{{"iss": "{ISS}", "sub": "s", "aud": "{AUD}", "jti": "{uuid.uuid4()}", '
                   f'"exp": {exp}, "iat": {iat}}}')
        assert _reason(verifier, _raw_token(key, payload)) == "malformed"


def _reason(verifier: CdsTokenVerifier, token: str, jtis: Jtis | None = None) -> str:
    with pytest.raises(CdsAuthError) as refused:
        verifier.verify(f"Bearer {token}", AUD, jtis or Jtis())
    assert token not in str(refused.value)  # the reason, never the token
    return refused.value.reason


def test_a_good_token_names_its_caller(verifier: CdsTokenVerifier, key: ECKey) -> None:
    caller = verifier.verify(f"Bearer {_token(key, tenant='clinic-a')}", AUD, Jtis())
    assert (caller.iss, caller.sub, caller.tenant) == (ISS, "ehr-client", "clinic-a")


def test_exp_and_iat_hold_to_the_second_with_the_leeway(verifier: CdsTokenVerifier, key: ECKey) -> None:
    assert verifier.verify(f"Bearer {_token(key, exp=NOW - 5)}", AUD, Jtis())  # exactly at the leeway
    assert _reason(verifier, _token(key, exp=NOW - 6)) == "expired"
    assert verifier.verify(f"Bearer {_token(key, iat=NOW + 5)}", AUD, Jtis())
    assert _reason(verifier, _token(key, iat=NOW + 6)) == "not-yet-valid"
    assert _reason(verifier, _token(key, iat=NOW - 400, exp=NOW + 60)) == "expired"  # issued too long ago
    # a far-off exp would keep its jti for as long: refused, as are non-numbers (JSON parsers take Infinity, NaN)
    assert _reason(verifier, _token(key, exp=NOW + 10 ** 12)) == "malformed"
    assert _reason(verifier, _token(key, exp="tomorrow")) == "malformed"


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "exp", "iat", "jti"])
def test_every_required_claim_is_required(verifier: CdsTokenVerifier, key: ECKey, claim: str) -> None:
    assert _reason(verifier, _token(key, **{claim: None})) in ("missing-claim", "untrusted-issuer")


def test_replay_audience_and_algorithms(verifier: CdsTokenVerifier, key: ECKey) -> None:
    jtis = Jtis()
    token = _token(key)
    verifier.verify(f"Bearer {token}", AUD, jtis)
    assert _reason(verifier, token, jtis) == "replayed"
    assert _reason(verifier, _token(key, aud=[AUD + "/feedback"])) == "wrong-audience"
    assert verifier.verify(f"Bearer {_token(key, aud=['https://other.test', AUD])}", AUD, Jtis())  # a list may name it
    rsa = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    assert _reason(verifier, _token(rsa, alg="RS256")) == "bad-algorithm"  # RS256 not configured
    assert _reason(verifier, _token(rsa, alg="RS384")) == "bad-signature"  # not the EHR's key
    assert _reason(verifier, _token(key, header={"jku": "https://ehr.example.test/jwks"})) == "untrusted-jku"
    assert _reason(verifier, "not.a.jwt") == "malformed"


@pytest.mark.parametrize(("variable", "value"), [
    ("ORDERS_CDS_TRUSTED_ISSUERS", "not json"),
    ("ORDERS_CDS_TRUSTED_ISSUERS", '{"https://ehr": {}}'),
    ("ORDERS_CDS_TRUSTED_ISSUERS", '{"https://ehr": {"jwks_url": "https://e/j", "jwks_file": "/x"}}'),
    ("ORDERS_CDS_TRUSTED_ISSUERS", '{"https://ehr": {"jwks_url": "ftp://e/j"}}'),
    ("ORDERS_CDS_TRUSTED_ISSUERS", '{"https://ehr": {"jwks_file": "/no/such/file.json"}}'),
    ("ORDERS_CDS_TRUSTED_ISSUERS", '{"https://ehr": {"jwks_url": "https://e/j", "fhir_servers": ["x"]}}'),
    ("ORDERS_CDS_ALGORITHMS", "HS256"),
    ("ORDERS_CDS_ALGORITHMS", "none"),
    ("ORDERS_CDS_ALLOWED_ORIGINS", "*"),
    ("ORDERS_CDS_ALLOWED_ORIGINS", "https://ehr.example.test/path"),
    ("ORDERS_CDS_LEEWAY_S", "600"),
])
def test_a_bad_setting_stops_the_start(variable: str, value: str) -> None:
    with pytest.raises(SettingsError):
        load_settings(CdsHooksSettings, "ORDERS_CDS_", {variable: value})


@pytest.mark.parametrize("extra", [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}, "private"])
def test_a_pinned_file_with_a_secret_or_a_private_key_stops_the_start(tmp_path: Path, key: ECKey,
                                                                      extra: Any) -> None:
    """A JWKS with an HMAC secret or a private key in it is a mistake (or a key that leaked): refused at start."""
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [key.as_dict(private=False),
                                         key.as_dict(private=True) if extra == "private" else extra]}))
    with pytest.raises(SettingsError, match="private key or a secret"):
        load_settings(CdsHooksSettings, "ORDERS_CDS_", {
            "ORDERS_CDS_TRUSTED_ISSUERS": json.dumps({ISS: {"jwks_file": str(path)}})})
