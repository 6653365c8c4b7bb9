"""Order entry settings (environment prefix ``EHR_SANDBOX_ORDER_ENTRY_``), validated at start-up.

``CDS_BASE_URL``: where the orders service answers (its ``/cds-services``); default from ``ORDERS_PORT`` as the
app registrations are. The form's prefilled values are the sandbox's, not the clinic protocol's: the CDS service
is what checks them."""
from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

#: Where the sandbox serves the key set it signs its CDS Hooks calls with (under its web root).
CDS_CLIENT_JWKS_PATH = "/smart/cds-client-jwks"
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

    @property
    def cds_url(self) -> str:
        return (self.cds_base_url or default_cds_base_url()).rstrip("/")
