"""The sandbox as a CDS Hooks 2.0 client: it reads the orders service's discovery once, fills each service's
prefetch templates from its own FHIR store, and signs every call with its own key (ES384; the public part is served
at ``/smart/cds-client-jwks``, the URL the orders service is configured with for this ``iss``). ``fhirAuthorization``
is a read-only ``system/`` token the sandbox's authorization server signs, as it does for backend clients."""
from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import requests
from authlib.common.security import generate_token
from joserfc import jwt
from joserfc.jwk import ECKey

from shared.cds_prefetch_template import MAX_LIST_PAGES, fill_template, is_latest_one
from shared.fhir.client import FhirClient, FhirError, TooManyPages

CLIENT_ID = "ehr-sandbox-cds-client"
ALGORITHM = "ES384"
#: What the CDS service may read with the request's token: its prefetch templates' resources, read only.
FHIR_SCOPE = " ".join(f"system/{kind}.rs" for kind in (
    "Patient", "Observation", "Condition", "MedicationRequest", "RiskAssessment", "Consent", "Flag"))


class CdsCallError(Exception):
    """The CDS service could not be asked or refused the call: order entry shows it and places nothing."""


def signing_key(path: Path) -> ECKey:
    """The sandbox's CDS client key (EC P-384, PEM, mode 0600), made on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = ECKey.generate_key("P-384", private=True)
        path.touch(mode=0o600)
        path.write_bytes(key.as_pem(private=True))
    key = ECKey.import_key(path.read_bytes())
    key.ensure_kid()
    return key


class CdsClient:
    def __init__(self, cds_base_url: str, iss: str, key: ECKey, fhir: FhirClient, fhir_base_url: str,
                 fhir_token: Any, timeout_s: float, token_lifetime_s: int):
        self.base_url = cds_base_url.rstrip("/")
        self.iss = iss
        self._key = key
        self._fhir = fhir
        self._fhir_base_url = fhir_base_url
        self._fhir_token = fhir_token  # callable(scope) -> access token
        self._timeout = timeout_s
        self._lifetime = token_lifetime_s
        self._services: dict[str, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [self._key.as_dict(private=False) | {"alg": ALGORITHM, "use": "sig"}]}

    def services(self) -> dict[str, dict[str, Any]]:
        """The discovery document's services by hook (read once, then kept)."""
        with self._lock:
            if self._services is None:
                document = self._get(f"{self.base_url}/cds-services")
                self._services = {s["hook"]: s for s in document.get("services", []) if isinstance(s, dict)}
            return self._services

    def call(self, hook: str, patient_id: str, user_reference: str, encounter_id: str | None,
             draft: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """One hook call with the draft order; returns (service id, the CDS response)."""
        service = self.services().get(hook)
        if service is None:
            raise CdsCallError(f"the CDS service offers no {hook} hook")
        context: dict[str, Any] = {"userId": user_reference, "patientId": patient_id,
                                   "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                                   "entry": [{"resource": draft}]}}
        if encounter_id:
            context["encounterId"] = encounter_id
        if hook == "order-select":
            context["selections"] = [f"MedicationRequest/{draft['id']}"]
        body = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context,
                "fhirServer": self._fhir_base_url,
                "fhirAuthorization": {"access_token": self._fhir_token(FHIR_SCOPE), "token_type": "Bearer",
                                      "expires_in": self._lifetime, "scope": FHIR_SCOPE, "subject": CLIENT_ID},
                "prefetch": self._prefetch(service.get("prefetch", {}), patient_id, user_reference, encounter_id)}
        return service["id"], self._post(f"{self.base_url}/cds-services/{service['id']}", body)

    def feedback(self, service_id: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        return self._post(f"{self.base_url}/cds-services/{service_id}/feedback", {"feedback": items})

    def _prefetch(self, templates: dict[str, str], patient_id: str, user_reference: str,
                  encounter_id: str | None) -> dict[str, Any]:
        kind, _, user_id = user_reference.partition("/")
        tokens = {"context.patientId": patient_id, "context.userId": user_reference, "userPractitionerId": user_id}
        if kind == "PractitionerRole":
            tokens["userPractitionerRoleId"] = user_id
        if encounter_id:
            tokens["context.encounterId"] = encounter_id
        prefetch: dict[str, Any] = {}
        for key, template in templates.items():
            query = fill_template(template, tokens)
            if query is None:
                continue
            try:
                prefetch[key] = self._read(query)
            except (FhirError, TooManyPages):
                continue  # left out: the service reads it with fhirAuthorization (and refuses a list too long)
        return prefetch

    def _read(self, query: str) -> dict[str, Any]:
        """A filled template: a read (``Type/id``) gives the resource, a search a searchset Bundle: "the latest one"
        its first page, a list every page (at most the service's own limit), so the service never decides on part
        of a list."""
        path, _, params = query.partition("?")
        if not params and "/" in path:
            kind, _, resource_id = path.partition("/")
            return self._fhir.read(kind, resource_id)
        search = dict(parse_qsl(params, keep_blank_values=True))
        found = self._fhir.search_first_page(path, search) if is_latest_one(search) else \
            self._fhir.search(path, search, max_pages=MAX_LIST_PAGES)
        return {"resourceType": "Bundle", "type": "searchset", "total": len(found),
                "entry": [{"resource": resource} for resource in found]}

    def _jwt(self, audience: str) -> str:
        now = int(time.time())
        claims = {"iss": self.iss, "sub": CLIENT_ID, "aud": audience, "iat": now, "exp": now + self._lifetime,
                  "jti": generate_token(24)}
        return jwt.encode({"alg": ALGORITHM, "kid": self._key.kid, "typ": "JWT"}, claims, self._key,
                          algorithms=[ALGORITHM])

    def _get(self, url: str) -> dict[str, Any]:
        return self._answer(lambda: requests.get(url, timeout=self._timeout))

    def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._answer(lambda: requests.post(
            url, json=body, timeout=self._timeout, headers={"Authorization": f"Bearer {self._jwt(url)}"}))

    @staticmethod
    def _answer(send: Any) -> dict[str, Any]:
        try:
            response = send()
        except requests.RequestException as error:
            raise CdsCallError(f"the CDS service did not answer ({type(error).__name__})") from None
        if response.status_code != 200:
            raise CdsCallError(f"the CDS service answered {response.status_code}: {response.text[:300]}")
        document = response.json()
        if not isinstance(document, dict):
            raise CdsCallError("the CDS service's answer is not a JSON object")
        return document
