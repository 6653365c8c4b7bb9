"""Settings of the sandbox's SMART authorization server (environment prefix ``EHR_SANDBOX_SMART_``): token
lifetimes, the demo clinicians' password and the registered apps."""
from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The three Ketalink services, registered by default as public clients on their local ports (the same
#: ``*_PORT`` variables ``make run`` sets).
DEFAULT_APPS = (("intake", "Ketalink intake", 8101), ("orders", "Ketalink orders", 8102),
                ("documentation", "Ketalink documentation", 8103))
#: The pages each service opens without a patient (its ``/launch/user/<view>``), offered in the chart's workspace.
DEFAULT_USER_LAUNCHES = {"intake": (("Operations", "ops"),), "orders": (("Operations", "ops"),),
                         "documentation": (("Suite board", "board"), ("Operations", "ops"))}


#: Each service's own backend client (SMART Backend Services), as the services' EHR_BACKEND_CLIENT_ID defaults.
DEFAULT_BACKEND_CLIENTS = tuple(f"ketalink-{service}-backend" for service, _name, _port in DEFAULT_APPS)
CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

PRACTITIONER_ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/practitioner-role"
SNOMED = "http://snomed.info/sct"


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: str
    given: str
    family: str
    role_codes: tuple[tuple[str, str, str], ...] = ()  # (system, code, display) of the user's PractitionerRole

    @property
    def identifier(self) -> str:
        return f"smart-user-{self.username}"


DEMO_USERS = (
    # A registered nurse: charts, but is not a prescriber (shared/roles.py).
    DemoUser("nurse.ng", "Grace Ng, RN", "Infusion nurse", "Grace", "Ng",
             ((PRACTITIONER_ROLE_SYSTEM, "nurse", "Nurse"), (SNOMED, "224535009", "Registered nurse"))),
    # A physician: a prescriber by the default KETALINK_PRESCRIBER_ROLE_CODES.
    DemoUser("dr.okoye", "Dr. Adaeze Okoye", "Psychiatrist", "Adaeze", "Okoye",
             ((PRACTITIONER_ROLE_SYSTEM, "doctor", "Doctor"), (SNOMED, "309343006", "Physician"))),
    # The clinic's IT and integration support: the operations page's default role (KETALINK_OPS_ROLE_CODES), not a
    # clinician (no board role, no prescriber role).
    DemoUser("ops.kim", "Sam Kim (IT support)", "Integration support", "Sam", "Kim",
             ((PRACTITIONER_ROLE_SYSTEM, "ict", "ICT professional"),)),
)


@dataclass(frozen=True)
class UserLaunch:
    """A page of an app that a clinician opens from the EHR's workspace, with no patient in context (SMART EHR
    launch, user-level): its name on the chart and its launch URL."""

    name: str
    url: str

    @classmethod
    def from_json(cls, client_id: str, item: Any) -> "UserLaunch":
        if not isinstance(item, Mapping) or set(item) != {"name", "url"} or not all(
                isinstance(item[key], str) and item[key].strip() for key in ("name", "url")):
            raise ValueError(f"app {client_id!r}: each user_launches entry is {{\"name\", \"url\"}} (both text)")
        if not item["url"].startswith(("http://", "https://")):
            raise ValueError(f"app {client_id!r}: user launch URL {item['url']!r} is not an http(s) URL")
        return cls(item["name"].strip(), item["url"])


@dataclass(frozen=True)
class AppRegistration:
    """One SMART app the sandbox knows. No secret and no keys: a public client. ``client_secret``: confidential
    (client_secret_basic / _post). ``jwks`` or ``jwks_uri``: confidential asymmetric (private_key_jwt)."""

    client_id: str
    name: str
    launch_url: str
    redirect_uris: tuple[str, ...]
    client_secret: str = ""
    jwks: dict[str, Any] | None = None
    jwks_uri: str = ""
    scope: str = ""  # scopes it may be granted (space-separated); empty: any user-facing SMART scope
    # pages opened from the workspace without a patient (a launch id that carries no patient and no encounter)
    user_launches: tuple[UserLaunch, ...] = ()

    @property
    def client_type(self) -> str:
        if self.jwks or self.jwks_uri:
            return "confidential-asymmetric"
        return "confidential-symmetric" if self.client_secret else "public"

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> "AppRegistration":
        if not isinstance(item, Mapping):
            raise ValueError("each app must be a JSON object")
        missing = [key for key in ("client_id", "name", "launch_url", "redirect_uris") if not item.get(key)]
        if missing:
            raise ValueError(f"app {item.get('client_id', '?')!r} lacks {', '.join(missing)}")
        unknown = set(item) - {"client_id", "name", "launch_url", "redirect_uris", "client_secret", "jwks",
                               "jwks_uri", "scope", "user_launches"}
        if unknown:
            raise ValueError(f"app {item['client_id']!r}: unknown fields {', '.join(sorted(unknown))}")
        uris = item["redirect_uris"]
        listed = item.get("user_launches", [])
        if not isinstance(listed, list):
            raise ValueError(f"app {item['client_id']!r}: user_launches must be a JSON array")
        user_launches = tuple(UserLaunch.from_json(item["client_id"], entry) for entry in listed)
        if len({launch.name for launch in user_launches}) != len(user_launches):
            raise ValueError(f"app {item['client_id']!r}: user_launches names must be unique")
        return cls(client_id=item["client_id"], name=item["name"], launch_url=item["launch_url"],
                   redirect_uris=tuple([uris] if isinstance(uris, str) else uris),
                   client_secret=item.get("client_secret", ""), jwks=item.get("jwks"),
                   jwks_uri=item.get("jwks_uri", ""), scope=item.get("scope", ""), user_launches=user_launches)

    def user_launch(self, name: str) -> UserLaunch | None:
        return next((launch for launch in self.user_launches if launch.name == name), None)


def default_apps(environ: Mapping[str, str] | None = None) -> tuple[AppRegistration, ...]:
    environ = os.environ if environ is None else environ
    apps = []
    for service, name, default_port in DEFAULT_APPS:
        port = environ.get(f"{service.upper()}_PORT") or str(default_port)
        apps.append(AppRegistration(
            client_id=f"ketalink-{service}", name=name, launch_url=f"http://127.0.0.1:{port}/launch",
            redirect_uris=(f"http://127.0.0.1:{port}/callback", f"http://localhost:{port}/callback"),
            user_launches=tuple(UserLaunch(label, f"http://127.0.0.1:{port}/launch/user/{view}")
                                for label, view in DEFAULT_USER_LAUNCHES[service])))
    return tuple(apps)


@dataclass(frozen=True)
class SmartServerSettings:
    """``EHR_SANDBOX_SMART_*``; see ``deploy/ehr_sandbox/smart/README.md``."""

    enabled: bool = True
    token_lifetime_s: int = 3600
    refresh_token_lifetime_s: int = 8 * 3600
    code_lifetime_s: int = 120
    launch_lifetime_s: int = 600
    demo_password: str = "ketalink-sandbox"
    apps: str = ""  # JSON array of app registrations; empty: the three Ketalink services on their local ports
    # SMART Backend Services clients (client_credentials + private_key_jwt); keys in <data dir>/smart/backend-keys
    backend_clients: tuple[str, ...] = DEFAULT_BACKEND_CLIENTS
    backend_token_lifetime_s: int = 300

    def validate(self) -> None:
        if min(self.token_lifetime_s, self.refresh_token_lifetime_s, self.code_lifetime_s,
               self.launch_lifetime_s, self.backend_token_lifetime_s) <= 0:
            raise ValueError("lifetimes must be positive")
        if not self.demo_password:
            raise ValueError("demo_password must not be empty")
        self.registrations()  # a bad EHR_SANDBOX_SMART_APPS stops the sandbox at start
        for client_id in self.backend_clients:
            if not CLIENT_ID.fullmatch(client_id):
                raise ValueError(f"backend_clients: {client_id!r} is not a client id (letters, digits, . _ -)")

    def registrations(self) -> tuple[AppRegistration, ...]:
        if not self.apps.strip():
            return default_apps()
        try:
            items = json.loads(self.apps)
        except ValueError as error:
            raise ValueError(f"apps is not JSON: {error}") from None
        if not isinstance(items, list) or not items:
            raise ValueError("apps must be a non-empty JSON array")
        apps = tuple(AppRegistration.from_json(item) for item in items)
        ids = [app.client_id for app in apps]
        if len(set(ids)) != len(ids):
            raise ValueError("apps: client_id values must be unique")
        return apps
