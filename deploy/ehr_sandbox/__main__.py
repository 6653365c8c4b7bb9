"""``python -m deploy.ehr_sandbox``: the FHIR server, its seed data and the integration engine in one process."""
from __future__ import annotations

import logging
import signal
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from shared.config import SettingsError, load_settings
from shared.events.consumer import ANY_EVENT
from shared.events.kafka_clients import KafkaSettings
from shared.fhir.client import FhirClient
from shared.logs import configure_logging
from shared.runtime import ServiceRuntime, ServiceSettings

from deploy.ehr_sandbox.fhir_server import sekmet_settings, serve_in_thread, start_fhir_server
from deploy.ehr_sandbox.chart_rules import ChartGuardedStore
from deploy.ehr_sandbox.integration_engine import IntegrationEngine
from deploy.ehr_sandbox.order_entry.answers import response_handlers as order_entry_answers
from deploy.ehr_sandbox.order_entry.settings import OrderEntrySettings
from deploy.ehr_sandbox.seed import seed
from deploy.ehr_sandbox.smart import authorization_server, mount as mount_smart, standalone_app as standalone_smart_app
from deploy.ehr_sandbox.smart.backend import InternalTokens
from deploy.ehr_sandbox.smart.settings import SmartServerSettings

log = logging.getLogger("ehr_sandbox")


@dataclass(frozen=True)
class SandboxSettings:
    """Environment prefix ``EHR_SANDBOX_``."""

    host: str = "127.0.0.1"
    port: int = 8090
    data_dir: str = "var/ehr"
    seed: bool = True
    run_engine: bool = True
    # Set to use another FHIR server (HAPI FHIR, a vendor sandbox): no local server is started, and this process
    # only seeds it (unless EHR_SANDBOX_SEED=false) and plays the integration engine in front of it.
    fhir_base_url: str = ""

    def validate(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ValueError("port must be 1-65535")


def main() -> None:
    try:
        sandbox = load_settings(SandboxSettings, "EHR_SANDBOX_")
        smart = load_settings(SmartServerSettings, "EHR_SANDBOX_SMART_")
        kafka = load_settings(KafkaSettings, "KAFKA_")
        order_entry = load_settings(OrderEntrySettings, "EHR_SANDBOX_ORDER_ENTRY_")
    except SettingsError as error:
        sys.exit(f"ehr-sandbox: configuration error: {error}")
    data_dir = Path(sandbox.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    server = None
    internal_tokens: InternalTokens | None = None  # the sandbox's own token for its own FHIR API
    if sandbox.fhir_base_url:
        base_url = sandbox.fhir_base_url.rstrip("/")
        if smart.enabled:
            # The SMART endpoints and the chart on this process's own port, for the FHIR server named: it sends that
            # server no token of its own, and that server may or may not check the apps' (HAPI in `make test-hapi`
            # checks none)
            root = f"http://{sandbox.host}:{sandbox.port}"
            authorization = authorization_server(smart, base_url, data_dir, public_url=root)
            server = serve_in_thread(standalone_smart_app(authorization, data_dir, (order_entry, kafka)),
                                     sandbox.host, sandbox.port, "smart-server")
    else:
        base_url = f"http://{sandbox.host}:{sandbox.port}/fhir"
        extend = None
        if smart.enabled:
            # SMART App Launch, Backend Services and the chart in the same process, in front of SEKMET's
            # backend-only SMART; the FHIR API then requires this server's tokens
            authorization = authorization_server(smart, base_url, data_dir)
            internal_tokens = InternalTokens(authorization)
            extend = lambda app: mount_smart(app, authorization, data_dir, (order_entry, kafka))  # noqa: E731
        server = start_fhir_server(sekmet_settings(sandbox.host, sandbox.port, data_dir), extend=extend)
    configure_logging("ehr-sandbox")  # after SEKMET, which configures logging of its own
    fhir = FhirClient(base_url, tokens=internal_tokens)
    if sandbox.seed:
        patient_ids = seed(fhir)
        log.info("sandbox seeded", extra={"patients": len(patient_ids)})
    runtime = None
    if sandbox.run_engine:
        runtime = ServiceRuntime("ehr", replace(ServiceSettings(), database_url=f"sqlite:///{data_dir / 'engine.db'}",
                                                ehr_fhir_base_url=base_url,
                                                public_base_url="urn:ehr-sandbox:interface-engine"), kafka,
                                 ehr_tokens=internal_tokens)
        # The engine writes through the store's one filing rule: nothing filed to a closed chart (chart_rules.py).
        engine = IntegrationEngine(runtime, ChartGuardedStore(base_url, tokens=internal_tokens))
        # Ketalink's answers to the orders placed in order entry (cpoe-order-response), kept for the order's page
        answers = order_entry_answers(data_dir) if order_entry.enabled else None
        runtime.start_worker({ANY_EVENT: engine.handle}, on_hold=engine.answer_held, response_handlers=answers)
    log.info("ehr sandbox ready", extra={"fhir_base_url": base_url})
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    if runtime:
        runtime.stop_worker()
    if server is not None:
        server.should_exit = True


if __name__ == "__main__":
    main()
