"""Appends to one session at once never conflict: a nurse and a bedside device (here 20 clients released together)
chart vitals into one running infusion session, and every reading is accepted on its first attempt (201), is on the
session once, goes out as one ``vitals-recorded`` message and is in the EHR once (its blood-pressure, heart-rate and
SpO2 Observations). Flowsheet events, CADSS ratings and adverse events charted at the same moment as readings are
accepted first time too. Only a real contradiction is refused: a reading charted into a session that has been
discharged. Against the real service process, broker and EHR sandbox of the integration suite."""
from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from shared.events.event_codes import VITALS_RECORDED
from shared.fhir.datatypes import identifier
from tests.integration.documentation.charting import new_patient
from tests.integration.documentation.clinic import (
    NURSE, Clinic, PublishedOrder, administration, clinical_times, discharge, finish_recovery_paperwork, pre_check,
    vitals,
)
from tests.support.kafka_tools import wait_for

pytestmark = pytest.mark.integration

READINGS = 20
MEASURES = ("bp", "hr", "spo2")


def _running_session(clinic: Clinic) -> tuple[PublishedOrder, str, Callable[[float], str]]:
    """A running infusion of a patient of this test alone: the first test leaves its session infusing, and a shared
    patient's later tests would find two infusing sessions (a device reading from the EHR goes to one of them)."""
    _patient_id, mrn = new_patient(clinic.ehr.client, family="Concurrent")
    order = clinic.publish_signed_order(mrn)
    clinic.wait_for_sessions(order)
    session_id = order.session_id(1)
    t = clinical_times(hours_ago=3)
    path = f"/sessions/{session_id}"
    clinic.post(f"{path}/check-in", {"by": NURSE, "at": t(0)})
    clinic.post(f"{path}/pre-check", pre_check(t(5), 124, 80))
    clinic.post(f"{path}/start", {"by": NURSE, "at": t(10)})
    return order, session_id, t


def _all_at_once(requests_to_send: list[tuple[str, dict[str, Any]]], base_url: str) -> list[requests.Response]:
    """POST every (path, body) from its own thread, all released together by a barrier; one attempt each."""
    barrier = threading.Barrier(len(requests_to_send))

    def send(item: tuple[str, dict[str, Any]]) -> requests.Response:
        path, body = item
        http = requests.Session()
        barrier.wait(timeout=30)
        return http.post(base_url + path, json=body, timeout=60,
                         headers={"Idempotency-Key": f"concurrent-{uuid.uuid4().hex}"})

    with ThreadPoolExecutor(max_workers=len(requests_to_send)) as pool:
        return list(pool.map(send, requests_to_send))


def _answers(responses: list[requests.Response]) -> list[str]:
    return [f"{r.status_code} {r.text[:200]}" for r in responses if r.status_code not in (200, 201)]


def test_twenty_concurrent_readings_are_all_accepted_first_time_and_recorded_once(clinic: Clinic):
    _order, session_id, t = _running_session(clinic)
    path = f"/sessions/{session_id}"
    reading_ids = [f"concurrent-{n:02d}" for n in range(READINGS)]
    sent = [(f"{path}/vitals", vitals(t(11 + n * 0.25), 118 + n % 5, 76 + n % 3, 70 + n % 4, reading_id=rid))
            for n, rid in enumerate(reading_ids)]

    responses = _all_at_once(sent, clinic.base_url)

    assert not _answers(responses), f"not accepted first time: {_answers(responses)}"
    assert [r.status_code for r in responses] == [201] * READINGS
    charted = Counter(r["reading_id"] for r in clinic.get(path)["readings"])
    assert {rid: charted[rid] for rid in reading_ids} == {rid: 1 for rid in reading_ids}

    def one_message_each() -> Counter[str] | None:
        found: Counter[str] = Counter()
        for message in clinic.documentation_messages(VITALS_RECORDED):
            values = {ident.get("value", "") for resource in message.all("Observation")
                      for ident in resource.get("identifier", [])}
            for rid in reading_ids:
                if any(v.startswith(f"{session_id}/{rid}/") for v in values):
                    found[rid] += 1
        return found if set(found) == set(reading_ids) else None

    messages = wait_for(one_message_each, 60, 1.0, "a vitals-recorded message for every reading")
    assert messages == Counter({rid: 1 for rid in reading_ids}), "one message per reading"

    ehr = clinic.ehr.client
    for rid in reading_ids:
        for measure in MEASURES:
            ident = identifier("vital-sign", f"{session_id}/{rid}/{measure}")
            stored = wait_for(lambda: ehr.search("Observation", {"identifier": f"{ident['system']}|{ident['value']}"}),
                              60, 0.5, f"Observation {rid}/{measure} in the EHR")
            assert len(stored) == 1, f"{rid}/{measure} stored {len(stored)} times in the EHR"


def test_other_appends_beside_readings_are_accepted_first_time_and_a_discharged_session_refuses_a_reading(
        clinic: Clinic):
    order, session_id, t = _running_session(clinic)
    path = f"/sessions/{session_id}"
    sent: list[tuple[str, dict[str, Any]]] = []
    for n in range(4):
        sent.append((f"{path}/vitals", vitals(t(12 + n), 120, 78, 72, reading_id=f"mixed-{n}")))
        sent.append((f"{path}/events", {"by": NURSE, "at": t(12 + n), "event_id": f"event-{n}",
                                        "text": f"repositioned ({n})"}))
    sent.append((f"{path}/cadss", {"by": NURSE, "at": t(50), "assessment_id": "cadss-40", "form": "cadss-6",
                                   "item_scores": [1, 0, 1, 0, 0, 0], "scheduled_minute": 40}))
    sent.append((f"{path}/adverse-events", {"by": NURSE, "at": t(14), "event_id": "nausea-1", "kind": "nausea",
                                            "severity": "mild", "outcome": "resolved",
                                            "action_taken": "observed"}))

    responses = _all_at_once(sent, clinic.base_url)

    assert not _answers(responses), f"not accepted first time: {_answers(responses)}"
    session = clinic.get(path)
    assert Counter(r["reading_id"] for r in session["readings"] if r["reading_id"].startswith("mixed-")) == \
        Counter({f"mixed-{n}": 1 for n in range(4)})
    assert Counter(e["event_id"] for e in session["events"] if e["event_id"].startswith("event-")) == \
        Counter({f"event-{n}": 1 for n in range(4)})

    # A real contradiction still gets a refusal: the session is discharged, then a reading arrives for it.
    end = 10 + order.placed.order.calculation.duration_min
    clinic.post(f"{path}/end", {"by": NURSE, "at": t(end)})
    for minute in (end + 5, end + 20, end + 32):
        clinic.post(f"{path}/vitals", vitals(t(minute), 122, 80, 74), expect=201)
    clinic.call("PUT", f"{path}/administration", administration(order, t(10), t(end), rate_changes=[]))
    finish_recovery_paperwork(clinic, path, t(end + 33), t(end + 33))
    assert clinic.post(f"{path}/discharge", discharge(t(end + 35)))["status"] == "discharged"
    late = clinic.post(f"{path}/vitals", vitals(t(end + 36), 120, 78, 72, reading_id="after-discharge"), expect=409)
    assert late["resourceType"] == "OperationOutcome"
