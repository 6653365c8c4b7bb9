"""What the documentation service refuses, against the real broker, EHR sandbox and service: bad input is a 400
OperationOutcome naming the field, a step the session cannot take a 409 with every reason (discharge too early
lists each failing criterion), an unknown session a 404, a retried request with its Idempotency-Key changes
nothing, and an order message that cannot be read goes to the dead-letter topic with the reason."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from shared.events.topics import ORDERS_EVENTS, dead_letter_topic
from shared.fhir.messaging import build_message
from tests.integration.documentation.clinic import (
    NURSE, Clinic, administration, clinical_times, discharge, pre_check, vitals,
)
from tests.support.kafka_tools import read_all, wait_for

pytestmark = pytest.mark.integration


def _expressions(outcome: dict) -> list[str]:
    assert outcome["resourceType"] == "OperationOutcome"
    return [issue.get("expression", [""])[0] for issue in outcome["issue"]]


def test_bad_input_names_the_field_and_steps_out_of_order_are_refused(clinic: Clinic):
    order = clinic.publish_signed_order("KL-1001")
    clinic.wait_for_sessions(order)
    path = f"/sessions/{order.session_id(1)}"
    t = clinical_times(hours_ago=2)
    assert clinic.get("/sessions/no-such-session", expect=404)["issue"][0]["code"] == "not-found"
    assert "/sessions/{session_id}/pre-check" in clinic.get("/openapi.json")["paths"]

    refused = clinic.post(f"{path}/start", {"by": NURSE, "at": t(0)}, expect=409)
    assert "cannot start the infusion of a session that is scheduled" in refused["issue"][0]["diagnostics"]
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert _expressions(clinic.post(f"{path}/check-in", {"by": NURSE, "at": future}, expect=400)) == ["at"]
    assert _expressions(clinic.post(f"{path}/check-in", {"by": NURSE, "at": "2026-03-02T09:00:00"},
                                    expect=400)) == ["at"]  # no timezone offset
    assert _expressions(clinic.post(f"{path}/check-in", {"by": NURSE, "wehn": t(0)}, expect=400)) == ["wehn"]
    clinic.post(f"{path}/check-in", {"by": NURSE, "at": t(0)})
    clinic.post(f"{path}/check-in", {"by": NURSE, "at": t(1)}, expect=409)

    incomplete = pre_check(t(5), 128, 82)
    del incomplete["reading"]["spo2_percent"]
    assert _expressions(clinic.post(f"{path}/pre-check", incomplete, expect=400)) == ["reading.spo2_percent"]
    unconfirmed = pre_check(t(5), 128, 82)
    unconfirmed["confirmations"]["ride_home_confirmed"] = "yes"
    assert _expressions(clinic.post(f"{path}/pre-check", unconfirmed, expect=400)) == [
        "confirmations.ride_home_confirmed"]
    # Issue 13 defect 18: fasting times not in the future, not after the check; "not applicable" for pregnancy only
    # when the EHR record rules it out (KL-1001 is a woman born in 1978 in the EHR).
    for name, moment in (("last_solid_food_at", future), ("last_clear_fluids_at", t(6))):
        implausible = pre_check(t(5), 128, 82)
        implausible["confirmations"][name] = moment
        assert _expressions(clinic.post(f"{path}/pre-check", implausible, expect=400)) == [f"confirmations.{name}"]
    not_applicable = pre_check(t(5), 128, 82)
    not_applicable["confirmations"]["pregnancy_check"] = "not-applicable"
    refused = clinic.post(f"{path}/pre-check", not_applicable, expect=400)
    assert _expressions(refused) == ["confirmations.pregnancy_check"]
    assert "EHR record: sex female, age 4" in refused["issue"][0]["diagnostics"]  # 48 in 2026
    clinic.post(f"{path}/pre-check", pre_check(t(5), 128, 82))
    clinic.post(f"{path}/start", {"by": NURSE, "at": t(4)}, expect=400)  # before the previous step
    clinic.post(f"{path}/start", {"by": NURSE, "at": t(10)})

    assert _expressions(clinic.post(f"{path}/vitals", vitals(t(25), "high", 82, 80), expect=400)) == [
        "systolic_mmhg"]
    assert _expressions(clinic.post(f"{path}/vitals", vitals(t(25), 120, 130, 80), expect=400)) == [
        "diastolic_mmhg"]
    cadss = {"by": NURSE, "at": t(50), "form": "cadss-6", "item_scores": [1, 0, 7, 1, 0, 0]}
    assert _expressions(clinic.post(f"{path}/cadss", cadss, expect=400)) == ["item_scores[2]"]

    # A retried request with the same Idempotency-Key gets the first answer and records nothing twice.
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = clinic.post(f"{path}/vitals", vitals(t(25), 132, 84, 80), expect=201, headers=key)
    replayed = clinic.post(f"{path}/vitals", vitals(t(25), 132, 84, 80), expect=201, headers=key)
    assert replayed["recorded"] == first["recorded"] and len(clinic.get(path)["readings"]) == 1
    # The same key for another reading is a client's mistake: refused, never answered with the first reading.
    reused = clinic.post(f"{path}/vitals", vitals(t(30), 140, 90, 88), expect=422, headers=key)
    assert _expressions(reused) == ["Idempotency-Key"] and "different request" in reused["issue"][0]["diagnostics"]
    assert len(clinic.get(path)["readings"]) == 1

    clinic.post(f"{path}/end", {"by": NURSE, "at": t(50)})
    clinic.post(f"{path}/vitals", vitals(t(55), 130, 84, 80), expect=201)
    too_early = clinic.post(f"{path}/discharge", discharge(t(60), escort_present=False), expect=409)
    reasons = [issue["diagnostics"] for issue in too_early["issue"]]
    assert reasons[0] == "administration record missing"
    assert any(r.startswith("observation: observed 10 min") for r in reasons)
    assert any(r.startswith("escort: ") for r in reasons)
    clinic.call("PUT", f"{path}/administration", administration(order, t(10), t(50)))
    clinic.post(f"{path}/administration/review", {"by": NURSE, "at": t(55)})
    clinic.post(f"{path}/cadss/not-rated", {"by": NURSE, "at": t(55), "scheduled_minute": 40, "reason": "asleep"})
    # Recovery ends at discharge: the end-of-recovery CADSS is due there even before the minimum observation time.
    early = clinic.post(f"{path}/discharge", discharge(t(60), override_reason="doctor reviewed, stable"), expect=409)
    assert early["issue"][0]["diagnostics"] == "CADSS end of recovery not rated: rate it or record why not"
    clinic.post(f"{path}/cadss/not-rated", {"by": NURSE, "at": t(58), "end_of_recovery": True, "reason": "asleep"})
    assert clinic.post(f"{path}/discharge", discharge(t(60)), expect=409)["issue"][0]["diagnostics"].startswith(
        "observation: ")
    overridden = clinic.post(f"{path}/discharge", discharge(t(60), override_reason="doctor reviewed, stable"))
    assert overridden["discharge_record"]["override_reason"] == "doctor reviewed, stable"


def test_unreadable_order_message_is_dead_lettered_with_the_reason(clinic: Clinic):
    order = clinic.publish_signed_order("KL-1003")  # the consumer is running and has read up to here
    clinic.wait_for_sessions(order)
    not_ours = [{"system": "urn:example:other-order-numbers", "value": str(uuid.uuid4())}]
    medication_request = order.message["entry"][1]["resource"] | {"identifier": not_ours}  # no Ketalink order id
    message = build_message("order-signed", "urn:ketalink:orders", [medication_request,
                                                                     order.message["entry"][2]["resource"]])
    message_id = message["entry"][0]["resource"]["id"]
    clinic.send(ORDERS_EVENTS, message, order.patient_id)

    def dead_lettered() -> list:
        return [r for r in read_all(clinic.bootstrap, dead_letter_topic(ORDERS_EVENTS))
                if message_id.encode() in r.value]

    (record,) = wait_for(dead_lettered, what="the dead-lettered order message")
    reason = dict(record.headers)["dlq-reason"].decode()
    assert "MedicationRequest.identifier" in reason and "no Ketalink order identifier" in reason
