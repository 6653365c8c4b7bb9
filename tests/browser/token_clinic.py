"""The documentation API with a clinician's bearer token: the browser stack requires SMART, so the tests that chart
over the API beside the browser use the token the sandbox issued for that clinician."""
from __future__ import annotations

from typing import Any

import requests

from tests.integration.documentation.clinic import Clinic


class TokenClinic(Clinic):
    """The documentation API with a clinician's bearer token (the browser stack requires SMART)."""

    def __init__(self, base_url: str, bootstrap: str, ehr: Any, token: str):
        super().__init__(base_url, bootstrap, ehr)
        self._auth = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, expect: int = 200) -> Any:
        response = requests.get(self.base_url + path, headers=self._auth, timeout=10)
        assert response.status_code == expect, f"GET {path}: {response.status_code} {response.text}"
        return response.json()

    def call(self, method: str, path: str, body: dict[str, Any], expect: int = 200,
             headers: dict[str, str] | None = None) -> Any:
        return super().call(method, path, body, expect, headers={**self._auth, **(headers or {})})
