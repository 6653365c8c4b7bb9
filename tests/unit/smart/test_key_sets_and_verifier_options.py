"""The shared JWT verifier's options and the shared key-set fetch, which the SMART bearer check and the CDS Hooks
JWT check both use: allowed algorithms, required claims, the refetch floor for an unknown key id, the size cap, no
redirects and public keys only. The key sets are served by a real HTTP server on a free port."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from shared.smart.discovery import Discovery, DiscoveryError, public_key_set
from shared.smart.tokens import InvalidToken, verify_jwt

ISS = "https://ehr.example.test/fhir"


class KeySetServer:
    """Answers ``/jwks`` with ``document``, ``/big`` with more than the cap, ``/moved`` with a redirect to
    ``/jwks``; counts what it was asked."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.hits: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                owner.hits.append(self.path)
                if self.path == "/moved":
                    self.send_response(302)
                    self.send_header("Location", "/jwks")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps(owner.document).encode()
                if self.path == "/big":
                    body = json.dumps({"keys": owner.document["keys"], "pad": "x" * 300_000}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def served() -> Iterator[KeySetServer]:
    server = KeySetServer()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _rsa(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid})


def _token(key: Any, alg: str = "RS384", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISS, "aud": ISS, "iat": now, "exp": now + 60, "jti": "j1"} | claims
    return jwt.encode({"alg": alg, "kid": key.kid}, {k: v for k, v in body.items() if v is not None}, key,
                      algorithms=[alg])


def _reason(token: str, key_set: KeySet, **options: Any) -> str:
    with pytest.raises(InvalidToken) as refused:
        verify_jwt(token, lambda refresh: key_set, issuers={ISS}, audiences={ISS}, **options)
    return refused.value.reason


def test_only_the_allowed_algorithms_are_taken_and_never_hmac_or_none() -> None:
    key = _rsa("k1")
    assert verify_jwt(_token(key), lambda refresh: KeySet([key]), issuers={ISS}, audiences={ISS},
                      algorithms=("RS384",))["jti"] == "j1"
    assert _reason(_token(key, alg="RS256"), KeySet([key]), algorithms=("RS384",)) == "bad-algorithm"
    assert _reason(_token(key, alg="RS256"), KeySet([key]), algorithms=("RS384", "HS256")) == "bad-algorithm"


def test_required_claims_and_the_reason_classes() -> None:
    key = _rsa("k1")
    keys = KeySet([key])
    assert _reason(_token(key, jti=None), keys, required=("exp", "jti")) == "missing-claim"
    assert _reason(_token(key, exp=int(time.time()) - 100), keys, leeway_s=5) == "expired"
    assert _reason(_token(key, iat=int(time.time()) + 100), keys, leeway_s=5) == "not-yet-valid"
    assert _reason(_token(key, aud="https://other.test"), keys) == "wrong-audience"
    assert _reason(_token(key, iss=["a", "b"]), keys) == "wrong-issuer"  # not a string: refused, not a crash
    assert _reason(_token(key, exp="tomorrow"), keys) == "malformed"
    assert _reason(_token(_rsa("k1")), keys) == "bad-signature"  # same kid, another key
    assert _reason("not.a.jwt", keys) == "malformed"


def test_an_unknown_kid_fetches_again_only_after_the_refetch_floor(served: KeySetServer) -> None:
    old, new = _rsa("old"), _rsa("new")
    served.document = {"keys": [old.as_dict(private=False)]}
    url = f"{served.url}/jwks"
    floored = Discovery(5, jwks_min_refetch_s=3600)
    assert floored.key_set(url).get_by_kid("old")
    served.document = {"keys": [old.as_dict(private=False), new.as_dict(private=False)]}
    with pytest.raises(InvalidToken, match="does not publish"):  # within the floor: the cached set only
        verify_jwt(_token(new), lambda refresh: floored.key_set(url, refresh=refresh), issuers={ISS},
                   audiences={ISS})
    assert served.hits == ["/jwks"]
    served.document = {"keys": [old.as_dict(private=False)]}
    unfloored = Discovery(5, jwks_min_refetch_s=0)
    unfloored.key_set(url)
    served.document = {"keys": [new.as_dict(private=False)]}
    claims = verify_jwt(_token(new), lambda refresh: unfloored.key_set(url, refresh=refresh), issuers={ISS},
                        audiences={ISS})
    assert claims["jti"] == "j1" and served.hits == ["/jwks", "/jwks", "/jwks"]


def test_a_key_set_is_not_followed_through_a_redirect_nor_read_past_the_cap(served: KeySetServer) -> None:
    served.document = {"keys": [_rsa("k1").as_dict(private=False)]}
    discovery = Discovery(5)
    with pytest.raises(DiscoveryError, match="302"):
        discovery.key_set(f"{served.url}/moved")
    assert served.hits == ["/moved"]  # the redirect's target was never asked
    with pytest.raises(DiscoveryError, match="larger than"):
        discovery.key_set(f"{served.url}/big")
    assert Discovery(5, max_jwks_bytes=400_000).key_set(f"{served.url}/big").get_by_kid("k1")


def test_only_public_signature_keys_are_taken(served: KeySetServer) -> None:
    rsa, ec = _rsa("r"), ECKey.generate_key("P-384", parameters={"kid": "e"})
    served.document = {"keys": [rsa.as_dict(private=True)]}
    with pytest.raises(DiscoveryError, match="private key or a secret"):
        Discovery(5).key_set(f"{served.url}/jwks")
    with pytest.raises(ValueError, match="private key or a secret"):
        public_key_set({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]})
    with pytest.raises(ValueError, match="no RSA or EC"):
        public_key_set({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "abc"}]})
    kept = public_key_set({"keys": [rsa.as_dict(private=False), ec.as_dict(private=False), {"kty": "unknown"}]})
    assert sorted(key.kid for key in kept.keys) == ["e", "r"]
