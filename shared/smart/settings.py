"""SMART settings of one service (environment prefix ``SMART_``), validated at start-up like every other setting."""
from __future__ import annotations

import enum
from dataclasses import dataclass

from shared.smart.scopes import ScopeContext, parse_scope, split_scopes

#: Patient-level data scopes: a launch from a patient's chart is about that patient, and the EHR's token then
#: cannot reach another patient's records even if a bug in Ketalink asked it to. The only user-level scopes are for
#: people, not patients: the clinician's Practitioner (their name) and PractitionerRole (whether they prescribe,
#: ``shared/roles.py``), and the witnesses offered on the controlled-substance form.
DATA_SCOPES = "patient/*.cruds user/Practitioner.rs user/PractitionerRole.rs"
DEFAULT_SCOPES = f"launch openid fhirUser online_access {DATA_SCOPES}"
DEFAULT_STANDALONE_SCOPES = f"launch/patient openid fhirUser online_access {DATA_SCOPES}"
#: The user-level launches (``/launch/user/<view>``): no patient in context, so user-level scopes, read-only and no
#: wider than the page needs; the EHR still decides which patients the user may see. The suite board reads the day's
#: Encounters, each patient's name and the banner's allergies when a row is opened, and the viewer's roles; the
#: operations page reads and acts on the service's own messages (MessageHeader) and reads the viewer's roles.
PEOPLE_SCOPES = "user/Practitioner.rs user/PractitionerRole.rs"
DEFAULT_BOARD_SCOPES = (f"openid fhirUser online_access user/Encounter.rs user/Patient.rs user/AllergyIntolerance.rs "
                        f"{PEOPLE_SCOPES}")
DEFAULT_OPS_SCOPES = f"openid fhirUser online_access user/MessageHeader.ru {PEOPLE_SCOPES}"
#: view name → (the page it lands on, the setting holding its scopes); a service offers the ones it has pages for.
USER_LAUNCH_VIEWS = {"board": ("/ui/board", "board_scopes"), "ops": ("/ops", "ops_scopes")}


class CookieSecure(enum.Enum):
    AUTO = "auto"  # Secure when the request came over https (wsgi.url_scheme; put ProxyFix in front of a proxy)
    TRUE = "true"
    FALSE = "false"


class ScopeVersion(enum.Enum):
    AUTO = "auto"  # v2 when the server's smart-configuration lists permission-v2, else v1
    V2 = "v2"
    V1 = "v1"  # for servers that advertise v2 but do not honour it


class BearerValidation(enum.Enum):
    JWKS = "jwks"  # JWT access tokens checked against the issuer's jwks_uri (keys cached)
    INTROSPECTION = "introspection"  # RFC 7662 at the issuer's introspection_endpoint (needs a confidential client)


@dataclass(frozen=True)
class SmartSettings:
    """``SMART_*``. Empty ``client_id`` / ``allowed_issuers`` take the service's defaults (``ketalink-<service>`` and
    ``EHR_FHIR_BASE_URL``); see ``shared/smart/README.md`` for the table."""

    client_id: str = ""
    client_secret: str = ""  # confidential client, client_secret_basic
    private_key_path: str = ""  # confidential client, private_key_jwt (PEM; RSA signs RS384, EC P-384 signs ES384)
    redirect_path: str = "/callback"
    landing_path: str = "/"  # where the browser goes after a successful launch: the app's home page
    scopes: str = DEFAULT_SCOPES
    standalone_scopes: str = DEFAULT_STANDALONE_SCOPES
    board_scopes: str = DEFAULT_BOARD_SCOPES  # /launch/user/board (documentation's suite board)
    ops_scopes: str = DEFAULT_OPS_SCOPES  # /launch/user/ops (each service's operations page)
    scope_version: ScopeVersion = ScopeVersion.AUTO
    allowed_issuers: tuple[str, ...] = ()
    accepted_client_ids: tuple[str, ...] = ()  # bearer tokens' client_id (or azp); empty: this service's client_id
    session_lifetime_s: int = 8 * 3600
    launch_timeout_s: int = 600  # from /launch to /callback
    refresh_margin_s: int = 60  # refresh an access token this long before it expires
    clock_skew_s: int = 30  # allowed between the EHR's clock and ours when checking a bearer token's exp
    cookie_name: str = ""  # default ketalink_smart_<client id> (cookies are shared across ports of one host)
    cookie_secure: CookieSecure = CookieSecure.AUTO
    cookie_samesite: str = "Lax"  # None (with Secure) when the EHR embeds the app in an iframe
    auth_required: bool = True
    bearer_validation: BearerValidation = BearerValidation.JWKS
    public_base_url: str = ""  # this app's external URL, for redirect_uri; default: from the request
    http_timeout_s: float = 10.0

    def validate(self) -> None:
        if self.client_secret and self.private_key_path:
            raise ValueError("set either client_secret or private_key_path, not both")
        for name in ("redirect_path", "landing_path"):
            if not getattr(self, name).startswith("/"):
                raise ValueError(f"{name} must start with /")
        for client in self.accepted_client_ids:
            if not client or any(ch.isspace() for ch in client):
                raise ValueError(f"accepted_client_ids: {client!r} is not a client id")
        for issuer in self.allowed_issuers:
            if not issuer.startswith(("http://", "https://")):
                raise ValueError(f"allowed_issuers: {issuer!r} is not an http(s) URL")
        if self.public_base_url and not self.public_base_url.startswith(("http://", "https://")):
            raise ValueError("public_base_url must be an http(s) URL")
        if self.cookie_samesite not in ("Lax", "Strict", "None"):
            raise ValueError("cookie_samesite must be Lax, Strict or None")
        if self.cookie_samesite == "None" and self.cookie_secure is CookieSecure.FALSE:
            raise ValueError("cookie_samesite None needs a Secure cookie (cookie_secure auto or true)")
        if min(self.session_lifetime_s, self.launch_timeout_s) <= 0 or min(self.refresh_margin_s,
                                                                           self.clock_skew_s) < 0:
            raise ValueError("lifetimes must be positive; refresh_margin_s and clock_skew_s not negative")
        if self.bearer_validation is BearerValidation.INTROSPECTION and not self.confidential:
            raise ValueError("bearer_validation introspection needs a confidential client (client_secret or "
                             "private_key_path): the EHR only answers authenticated clients")
        if not split_scopes(self.scopes):
            raise ValueError("scopes must not be empty")
        for _landing, name in USER_LAUNCH_VIEWS.values():
            check_user_level(name, getattr(self, name))

    def user_launch(self, view: str) -> tuple[str, str] | None:
        """(landing path, scopes) of a user-level launch view; None for a view that does not exist."""
        if view not in USER_LAUNCH_VIEWS:
            return None
        landing, name = USER_LAUNCH_VIEWS[view]
        return landing, getattr(self, name)

    @property
    def confidential(self) -> bool:
        return bool(self.client_secret or self.private_key_path)


def check_user_level(name: str, scopes: str) -> None:
    """A user-level launch asks for no patient: ``launch/patient`` or a ``patient/`` scope there would either make
    the EHR pick one (and the page refuse the session as patient-bound) or grant nothing."""
    wanted = split_scopes(scopes)
    if not any(parse_scope(scope) for scope in wanted):
        raise ValueError(f"{name} must name at least one user/ data scope")
    for scope in wanted:
        parsed = parse_scope(scope)
        if scope in ("launch", "launch/patient") or (parsed is not None and parsed.context is not ScopeContext.USER):
            raise ValueError(f"{name}: {scope!r} does not belong to a launch without a patient (user/ scopes only; "
                             "the EHR launch's 'launch' is added by the app)")
