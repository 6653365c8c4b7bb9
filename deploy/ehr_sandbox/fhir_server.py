"""Start the SEKMET FHIR R4 server in this process (uvicorn in a thread) with the sandbox's settings.

SEKMET was chosen over Medplum's in-memory router because it stores to SQLite (data survives a restart, which the
fault tests need), its transactions are atomic, it pages, and filtered searches stay fast (see README)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from sekmet.config import ServerAuth, Settings, SimulatorSettings, set_settings
from sekmet.fhir.search_params import PARAMS, SearchParam
from sekmet.main import create_app

# FHIR R4's RiskAssessment search parameters, which SEKMET's table lacks: without them a search by subject is answered
# with every patient's assessments (it ignores what it does not know). The orders service's CDS prefetch searches the
# intake's eligibility decisions by subject. An assessment stored before these were registered (a data directory of
# an older sandbox) is not indexed by them: the search misses it until it is written again.
PARAMS.setdefault("RiskAssessment", {}).update({
    "subject": SearchParam("subject", "reference", ("subject",)),
    "patient": SearchParam("patient", "reference", ("subject",), "Patient"),
    "date": SearchParam("date", "date", ("occurrenceDateTime",)),
    "identifier": SearchParam("identifier", "token", ("identifier",)),
    "risk": SearchParam("risk", "token", ("prediction.outcome",)),
})


def sekmet_settings(host: str, port: int, data_dir: Path, public_host: str | None = None) -> Settings:
    base_url = f"http://{public_host or host}:{port}/fhir"
    return Settings(
        base_url=base_url, host=host, port=port, data_dir=str(data_dir), db_path=str(data_dir / "fhir.db"),
        own_private_key_path=str(data_dir / "keys" / "sekmet_private.pem"),
        simulator=SimulatorSettings(enabled=False),  # no simulated lab/pharmacy replies to our resources
        server_auth=ServerAuth(types=["none"]),  # SMART comes in front of it (issue 6); loopback only here
        log_inbound=False,  # the traffic log would keep full request bodies (PHI) on disk
    )


def start_fhir_server(settings: Settings, timeout_s: float = 30.0,
                      extend: Callable[[Any], None] | None = None) -> uvicorn.Server:
    """``extend(app)`` adds routes to SEKMET's FastAPI app before it serves (the SMART authorization server)."""
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    set_settings(settings)
    app = create_app(settings)
    if extend is not None:
        extend(app)
    return serve_in_thread(app, settings.host, settings.port, "fhir-server", timeout_s)


def serve_in_thread(app: Any, host: str, port: int, name: str, timeout_s: float = 30.0) -> uvicorn.Server:
    """Serve the ASGI ``app`` with uvicorn in a daemon thread; returns once it listens."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
    threading.Thread(target=server.run, name=name, daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the {name} did not start on port {port}")
        time.sleep(0.05)
    return server
