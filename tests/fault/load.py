"""The two streams the fault tests keep running while servers go away: the EHR's events (portal PHQ-9s announced
on ``ehr.events``) and a nurse's requests (vitals entered into a running infusion session).

Each plays its side as the real one would during an outage: the EHR's interface engine keeps an event until the
broker takes it (same message, same id, sent again), and the charting client re-sends a request with the same
``Idempotency-Key`` until the service answers; a 409 (the key's request applied but its answer lost in a crash, or
still being handled) makes it look for the reading on the session, as the API says. Any other 4xx or 5xx answer is
recorded as a failure for the test to report. Every loop is bounded by the stream's stop and a deadline."""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from kafka import KafkaProducer

from deploy.ehr_sandbox.ehr_events import EHR_ENDPOINT
from shared.events.kafka_clients import KafkaSettings, ensure_topics
from shared.events.topics import EHR_EVENTS, all_topics
from shared.fhir.messaging import build_message
from tests.integration.course.support import phq9_items
from tests.support.backend_auth import ehr_client
from tests.integration.documentation.clinic import vitals

EHR_QR_SYSTEM = "https://ehr-sandbox.example.org/fhir/identifier/questionnaire-response"
PHQ9_LINK_IDS = ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8")
RETRY_PAUSE_S = 0.25
RETRYABLE_STATUS = {502, 503, 504}  # what a proxy or a restarting server answers; anything else is final


@dataclass
class StreamReport:
    """What a stream sent and had acknowledged, and the answers that were not what the test allows."""

    acknowledged: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    retries: int = 0


class Stream:
    """A background thread sending one item every ``interval_s`` until stopped; ``pause()`` holds it between items
    (the fault test drains in-flight work before it restarts a broker that keeps nothing)."""

    def __init__(self, name: str, interval_s: float, deadline_s: float):
        self.report = StreamReport()
        self._interval_s = interval_s
        self._deadline = time.monotonic() + deadline_s
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def pause(self) -> None:
        """Hold the stream and wait until the item being sent is acknowledged."""
        self._running.clear()
        self._idle.wait(timeout=60)

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()
        self._thread.join(timeout=120)
        assert not self._thread.is_alive(), f"{self._thread.name} did not stop"

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            if not self._running.is_set():
                self._idle.set()
                self._running.wait()
                continue
            self._idle.clear()
            number += 1
            self.send_one(number)
            self._idle.set()
            self._stop.wait(self._interval_s)

    def send_one(self, number: int) -> None:
        raise NotImplementedError

    def retrying(self, attempt: Callable[[], bool]) -> bool:
        """Call ``attempt`` until it returns True (done) or the deadline passes; it raises to ask for a retry."""
        while time.monotonic() < self._deadline:
            try:
                if attempt():
                    return True
            except Exception:  # noqa: BLE001 - connection refused, timeout, broker gone: an outage, so retry
                pass
            self.report.retries += 1
            time.sleep(RETRY_PAUSE_S)
        return False


class PortalScores(Stream):
    """The EHR: a patient answers a PHQ-9 in the portal; the EHR stores it, then announces it on ``ehr.events``."""

    def __init__(self, bootstrap: str, ehr_base_url: str, patient_id: str, total: int, deadline_s: float,
                 interval_s: float = 0.3):
        super().__init__("portal-scores", interval_s, deadline_s)
        self._bootstrap = bootstrap
        self._fhir = ehr_client(ehr_base_url, timeout_s=3, retries=0)
        self._patient_id = patient_id
        self._items = [{"linkId": code, "answer": [{"valueInteger": value}]}
                       for code, value in zip(PHQ9_LINK_IDS, phq9_items(total))]
        self._producer: KafkaProducer | None = None

    def send_one(self, number: int) -> None:
        response_id = f"qr-fault-{uuid.uuid4().hex[:12]}"
        resource = {"resourceType": "QuestionnaireResponse", "id": response_id,
                    "identifier": {"system": EHR_QR_SYSTEM, "value": response_id},
                    "status": "completed", "questionnaire": "http://loinc.org/q/44249-1",
                    "subject": {"reference": f"Patient/{self._patient_id}"},
                    "authored": (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat(),
                    "item": [{"linkId": "phq9-group", "item": self._items}]}
        stored: dict[str, Any] = {}

        def store() -> bool:
            stored.update(self._fhir.update(resource))
            return True

        if not self.retrying(store):
            self.report.failures.append(f"{response_id}: the EHR did not store it before the deadline")
            return
        message = json.dumps(build_message("questionnaire-response-received", EHR_ENDPOINT, [stored],
                                           with_provenance=False)).encode()
        if self.retrying(lambda: self._publish(message)):
            self.report.acknowledged.append(response_id)
        else:
            self.report.failures.append(f"{response_id}: the broker did not take it before the deadline")

    def _publish(self, message: bytes) -> bool:
        try:
            if self._producer is None:
                # A broker that keeps nothing (the embedded one) comes back without topics.
                ensure_topics(KafkaSettings(bootstrap_servers=self._bootstrap, request_timeout_ms=3000), all_topics())
                self._producer = KafkaProducer(bootstrap_servers=[self._bootstrap], acks="all", retries=0,
                                               request_timeout_ms=3000, max_block_ms=3000)
            self._producer.send(EHR_EVENTS, value=message, key=self._patient_id.encode()).get(timeout=5)
            return True
        except Exception:
            self._drop_producer()
            raise

    def _drop_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=1)
            except Exception:  # noqa: BLE001 - a broken producer is discarded anyway
                pass
            self._producer = None

    def stop(self) -> None:
        super().stop()
        self._drop_producer()


class NurseVitals(Stream):
    """A nurse charts a vitals reading every ``interval_s`` into one running session, ten seconds apart in clinical
    time from ``first_at``."""

    def __init__(self, documentation_url: str, session_id: str, first_at: datetime, deadline_s: float,
                 interval_s: float = 0.3):
        super().__init__("nurse-vitals", interval_s, deadline_s)
        self._url = f"{documentation_url}/sessions/{session_id}/vitals"
        self._first_at = first_at
        self._http = requests.Session()

    def send_one(self, number: int) -> None:
        reading_id = f"fault-{number:04d}"
        at = (self._first_at + timedelta(seconds=10 * number)).isoformat()
        body = vitals(at, 120 + number % 7, 78 + number % 5, 72 + number % 4, reading_id=reading_id)
        headers = {"Idempotency-Key": f"vitals-{reading_id}-{uuid.uuid4().hex[:8]}"}
        answers: list[int] = []
        charted = False  # the reading was found on the session after a 409

        def post() -> bool:
            nonlocal charted
            response = self._http.post(self._url, json=body, headers=headers, timeout=5)
            answers.append(response.status_code)
            if response.status_code in RETRYABLE_STATUS:
                return False
            if response.status_code == 409:
                # The key's first request was applied but the service stopped before storing its answer, or it
                # is still being handled: the API says to read the current state, so the client looks for the
                # reading on the session, and asks again while it is not there.
                charted = self._charted(reading_id)
                return charted
            if response.status_code not in (200, 201):
                self.report.failures.append(f"{reading_id}: {response.status_code} {response.text[:300]}")
            return True

        if not self.retrying(post):
            self.report.failures.append(f"{reading_id}: no answer before the deadline ({answers[-3:]})")
        elif charted or answers[-1] in (200, 201):
            self.report.acknowledged.append(reading_id)

    def _charted(self, reading_id: str) -> bool:
        session = self._http.get(self._url.removesuffix("/vitals"), timeout=5)
        return session.status_code == 200 and any(r["reading_id"] == reading_id for r in session.json()["readings"])
