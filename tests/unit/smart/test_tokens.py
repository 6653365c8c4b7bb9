"""JWT checks (signature, exp, iss, aud, key rotation) and private_key_jwt client assertions."""
from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from shared.smart.oauth import ClientKey, _FreshPrivateKeyJWT
from shared.smart.tokens import InvalidToken, verify_jwt

ISS = "https://ehr.example.org/fhir"


def _key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid}, private=True)


def _token(key: RSAKey, **claims) -> str:  # type: ignore[no-untyped-def]
    body = {"iss": ISS, "aud": ISS, "exp": int(time.time()) + 60, "scope": "patient/*.rs", "patient": "p1"} | claims
    return jwt.encode({"alg": "RS256", "kid": key.kid}, {k: v for k, v in body.items() if v is not None}, key)


def _check(token: str, *key_sets: KeySet) -> dict:
    fetched = list(key_sets)

    def key_set_for(refresh: bool) -> KeySet:
        if refresh and len(fetched) > 1:
            fetched.pop(0)
        return fetched[0]

    return verify_jwt(token, key_set_for, issuers={ISS}, audiences={ISS}, leeway_s=0)


def test_a_good_token_gives_its_claims():
    key = _key("k1")
    assert _check(_token(key), KeySet([key]))["patient"] == "p1"


@pytest.mark.parametrize("claims, reason", [
    ({"exp": int(time.time()) - 5}, "expired"),
    ({"iss": "https://other.example/fhir"}, "iss"),
    ({"aud": "https://other.example/fhir"}, "aud"),
    ({"exp": None}, "exp"),
])
def test_bad_claims_are_refused(claims, reason):
    key = _key("k1")
    with pytest.raises(InvalidToken, match=reason):
        _check(_token(key, **claims), KeySet([key]))


def test_iss_and_aud_are_checked_only_where_present():
    key = _key("k1")
    assert _check(_token(key, iss=None, aud=None), KeySet([key]))["scope"] == "patient/*.rs"


def test_a_token_signed_by_another_key_is_refused():
    ours, forger = _key("k1"), _key("k1")  # same kid, different key
    with pytest.raises(InvalidToken):
        _check(_token(forger), KeySet([ours]))


def test_a_rotated_key_is_fetched_once_more_and_an_unknown_one_refused():
    old, new = _key("old"), _key("new")
    assert _check(_token(new), KeySet([old]), KeySet([old, new]))["patient"] == "p1"
    with pytest.raises(InvalidToken, match="does not publish"):
        _check(_token(_key("nobody")), KeySet([old]), KeySet([old, new]))


@pytest.mark.filterwarnings("ignore:JWS algorithm")
def test_unsigned_tokens_are_refused():
    key = _key("k1")
    unsigned = jwt.encode({"alg": "none"}, {"iss": ISS, "exp": int(time.time()) + 60}, None,
                          algorithms=["none"])
    with pytest.raises(InvalidToken):
        _check(unsigned, KeySet([key]))


def test_client_keys_sign_rs384_or_es384_assertions_for_the_token_endpoint():
    rsa = ClientKey(RSAKey.generate_key(2048, private=True).as_pem(private=True))
    ec = ClientKey(ECKey.generate_key("P-384", private=True).as_pem(private=True))
    assert (rsa.alg, ec.alg) == ("RS384", "ES384")
    for client_key in (rsa, ec):
        auth = _FreshPrivateKeyJWT(client_key, "https://ehr.example.org/token")
        first, second = (auth.sign(type("A", (), {"client_id": "app"})(), "https://ehr.example.org/token")
                         for _ in range(2))
        decoded = jwt.decode(first, client_key.key, algorithms=[client_key.alg])
        claims = decoded.claims
        assert decoded.header["kid"] == client_key.kid
        assert claims["iss"] == claims["sub"] == "app" and claims["aud"] == "https://ehr.example.org/token"
        assert claims["exp"] - time.time() <= 300
        assert claims["jti"] != jwt.decode(second, client_key.key, algorithms=[client_key.alg]).claims["jti"]
        assert "d" not in client_key.public_jwks()["keys"][0]


def test_an_ec_client_key_must_be_p384():
    with pytest.raises(ValueError, match="P-384"):
        ClientKey(ECKey.generate_key("P-256", private=True).as_pem(private=True))
