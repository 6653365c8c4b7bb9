"""The benchmark's phases, in the order ``python -m bench`` runs them; each adds its rows to the report."""
from __future__ import annotations

from collections.abc import Callable

from bench.api_phase import api
from bench.cds_phase import cds
from bench.context import Context
from bench.inbound_phases import documentation, intake, orders, raw
from bench.scaling_phase import scaling

PHASE_FUNCTIONS: dict[str, Callable[[Context], None]] = {
    "raw": raw, "intake": intake, "orders": orders, "documentation": documentation, "api": api, "cds": cds,
    "scaling": scaling}
