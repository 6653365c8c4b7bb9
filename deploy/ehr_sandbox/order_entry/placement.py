"""Placing a signed order: filed in the EHR's store, then announced as ``cpoe-order-placed`` on ``ehr.events`` (the
same message a hospital CPOE's interface engine sends, ``ehr_events.record_and_announce``), keyed by the patient.
Discontinuing one the orders service refused: the order is active in the EHR until the prescriber withdraws it, as
in a hospital CPOE (a refusal downstream does not change the EHR's order by itself)."""
from __future__ import annotations

import json
import threading
from typing import Any

from kafka import KafkaProducer

from deploy.ehr_sandbox.ehr_events import record_and_announce
from deploy.ehr_sandbox.order_entry.draft import placed_order
from shared.events.event_codes import CPOE_ORDER_PLACED
from shared.events.kafka_clients import KafkaSettings, create_producer
from shared.events.outbox import CONTENT_TYPE
from shared.events.topics import EHR_EVENTS
from shared.fhir.client import FhirClient

#: FHIR MedicationRequest status for an order withdrawn before any administration.
WITHDRAWN = "cancelled"

SEND_TIMEOUT_S = 30


class OrderPlacer:
    def __init__(self, fhir: FhirClient, kafka: KafkaSettings):
        self._fhir = fhir
        self._kafka = kafka
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def place(self, draft: dict[str, Any], patient_id: str) -> tuple[dict[str, Any], str]:
        """The stored MedicationRequest and the id of the message announcing it; raises when the broker did not
        take it (the order is then in the store but not announced: placing it again is idempotent on its
        identifier)."""
        stored, message = record_and_announce(self._fhir, placed_order(draft), CPOE_ORDER_PLACED)
        message_id = message["entry"][0]["resource"]["id"]
        headers = [("message-id", message_id.encode()), ("event-code", CPOE_ORDER_PLACED.encode()),
                   ("content-type", CONTENT_TYPE)]
        with self._lock:
            if self._producer is None:
                self._producer = create_producer(self._kafka, "ehr-sandbox-order-entry")
            self._producer.send(EHR_EVENTS, value=json.dumps(message).encode(), key=patient_id.encode(),
                                headers=headers).get(timeout=SEND_TIMEOUT_S)
        return stored, message_id

    def withdraw(self, order_id: str, reason: str) -> dict[str, Any]:
        """The filed order ``cancelled`` with ``reason`` (only if no one changed it meanwhile: If-Match)."""
        order = self._fhir.read("MedicationRequest", order_id)
        if order.get("status") == WITHDRAWN:
            return order
        order["status"] = WITHDRAWN
        order["statusReason"] = {"text": reason[:500]}
        return self._fhir.update(order, version_id=(order.get("meta") or {}).get("versionId"))
