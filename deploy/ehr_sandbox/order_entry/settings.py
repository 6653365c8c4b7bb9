"""Order entry settings (environment prefix ``EHR_SANDBOX_ORDER_ENTRY_``), validated at start-up.

``CDS_BASE_URL``: where the orders service answers (its ``/cds-services``); default from ``ORDERS_PORT`` as the
app registrations are. The form's prefilled values are the sandbox's, not the clinic protocol's: the CDS service
is what checks them.

``PRESCRIBER_ROLE_CODES`` (``system|code``, comma-separated): the PractitionerRole codes this EHR lets compose and
place medication orders (CPOE ordering privileges are the EHR's own setting, as in a hospital's). Default: HL7
practitioner-role ``doctor``, SNOMED CT 309343006 "Physician" and 224571005 "Nurse practitioner", the licences that
may order a Schedule III drug; a registered nurse (HL7 ``nurse``, SNOMED 224535009) may not. The same codes as
Ketalink's own default (``shared/roles.py``), so a clinician the EHR lets order is one Ketalink lets sign.

``ENTRY_LIFETIME_S``: how long an order being entered (not placed) is kept; ``PLACED_KEPT_DAYS``: how long a placed
order's page (with the orders service's answer) stays. Both in ``<data dir>/order-entry.db``, the sandbox's own
store, so entries and answers survive a restart."""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

#: Where the sandbox serves the key set it signs its CDS Hooks calls with (under its web root).
CDS_CLIENT_JWKS_PATH = "/smart/cds-client-jwks"
#: The practitioner roles that may order by default (see the module docstring).
DEFAULT_PRESCRIBER_ROLE_CODES = ("http://terminology.hl7.org/CodeSystem/practitioner-role|doctor",
                                 "http://snomed.info/sct|309343006", "http://snomed.info/sct|224571005")
DEFAULT_ORDERS_PORT = 8102  # deploy/local/stack.py DEFAULT_PORTS, smart/settings.py DEFAULT_APPS


def default_cds_base_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('ORDERS_PORT') or DEFAULT_ORDERS_PORT}"


@dataclass(frozen=True)
class OrderEntrySettings:
    enabled: bool = True
    cds_base_url: str = ""  # empty: default_cds_base_url()
    http_timeout_s: float = 10.0
    token_lifetime_s: int = 120  # the hook JWT's and the fhirAuthorization token's lifetime
    default_strength_mg_per_ml: float = 10.0
    default_mg_per_kg: float = 0.5
    default_duration_min: int = 40
    default_infusion_count: int = 6
    default_reason: str = "trd"  # draft.REASONS key: treatment-resistant depression
    prescriber_role_codes: tuple[str, ...] = DEFAULT_PRESCRIBER_ROLE_CODES
    entry_lifetime_s: int = 8 * 3600  # a shift: a draft left open is entered again after that
    placed_kept_days: int = 30

    def validate(self) -> None:
        if self.cds_base_url and urlsplit(self.cds_base_url).scheme not in ("http", "https"):
            raise ValueError("cds_base_url must be an http(s) URL")
        if not 1 <= self.http_timeout_s <= 60:
            raise ValueError("http_timeout_s must be 1-60 seconds")
        from deploy.ehr_sandbox.order_entry.draft import REASONS
        if self.default_reason not in REASONS:
            raise ValueError(f"default_reason must be one of {', '.join(REASONS)}")
        if not 30 <= self.token_lifetime_s <= 300:
            raise ValueError("token_lifetime_s must be 30-300 seconds")
        if not self.prescriber_role_codes:
            raise ValueError("prescriber_role_codes must name at least one system|code (nobody could order)")
        for code in self.prescriber_role_codes:
            system, bar, value = code.partition("|")
            if not bar or not system.startswith(("http://", "https://", "urn:")) or not value or "|" in value:
                raise ValueError(f"prescriber_role_codes: {code!r} is not system|code (system an http(s) or urn URI)")
        if not 60 <= self.entry_lifetime_s <= 7 * 24 * 3600:
            raise ValueError("entry_lifetime_s must be 60 s to 7 days")
        if not 1 <= self.placed_kept_days <= 3650:
            raise ValueError("placed_kept_days must be 1-3650")

    def may_order(self, role_codes: Iterable[tuple[str, str, str]]) -> bool:
        """A user whose PractitionerRole (``(system, code, display)``) has one of the ordering codes."""
        return any(f"{system}|{code}" in self.prescriber_role_codes for system, code, _ in role_codes)

    @property
    def cds_url(self) -> str:
        return (self.cds_base_url or default_cds_base_url()).rstrip("/")
