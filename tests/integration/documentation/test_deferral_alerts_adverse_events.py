"""Sessions that do not go to plan, against the real broker, EHR sandbox and documentation service: a BP high on
recheck defers the infusion (the EHR gets the Encounter with the right status), a BP crossing the alert threshold
during the infusion raises an alert (``alert-raised`` message, Flag in the EHR) that blocks discharge until an
action is recorded, and an adverse event that stops the infusion reaches the EHR as an AdverseEvent."""
from __future__ import annotations

import pytest

from shared.fhir.datatypes import find_identifier, identifier
from tests.integration.documentation.clinic import (
    NURSE, Clinic, administration, clinical_times, discharge, finish_recovery_paperwork, pre_check, vitals,
)
from tests.support.kafka_tools import wait_for

pytestmark = pytest.mark.integration


def test_bp_high_twice_defers_the_infusion(clinic: Clinic):
    order = clinic.publish_signed_order("KL-1002")
    clinic.wait_for_sessions(order)
    session_id = order.session_id(1)
    path = f"/sessions/{session_id}"
    t = clinical_times(hours_ago=1)

    clinic.post(f"{path}/check-in", {"by": NURSE, "at": t(0)})
    first = clinic.post(f"{path}/pre-check", pre_check(t(2), 150, 95, reading_id="pre-1"))
    assert first["pre_check"]["outcome"] == "recheck-required"
    refused = clinic.post(f"{path}/start", {"by": NURSE, "at": t(3)}, expect=409)
    assert "recheck at rest" in refused["issue"][0]["diagnostics"]
    second = clinic.post(f"{path}/pre-check", pre_check(t(12), 152, 96, reading_id="pre-2"))
    assert second["pre_check"]["outcome"] == "hold"
    assert "on recheck at rest" in second["pre_check"]["blocking_reasons"][0]
    clinic.post(f"{path}/start", {"by": NURSE, "at": t(13)}, expect=409)
    deferred = clinic.post(f"{path}/defer", {"by": NURSE, "at": t(15), "reason": "BP 152/96 on recheck at rest"})
    assert deferred["status"] == "deferred"

    # The patient was seen: a finished visit whose infusion was not done, and both pre-check readings.
    encounter = clinic.in_ehr("Encounter", "infusion-session", session_id, until=lambda r: r["status"] == "finished")
    assert encounter["period"]["end"].startswith(t(15)[:16])
    procedure = clinic.in_ehr("Procedure", "infusion", session_id)
    assert procedure["status"] == "not-done" and procedure["statusReason"]["text"] == "BP 152/96 on recheck at rest"
    second_bp = clinic.in_ehr("Observation", "vital-sign", f"{session_id}/pre-2/bp")
    assert [c["valueQuantity"]["value"] for c in second_bp["component"]] == [152, 96]

    # Deferred before the patient came: a cancelled visit.
    clinic.post(f"/sessions/{order.session_id(2)}/defer", {"by": NURSE, "reason": "patient unwell, rebooked"})
    clinic.in_ehr("Encounter", "infusion-session", order.session_id(2), until=lambda r: r["status"] == "cancelled")


def test_alert_during_the_infusion_needs_an_action_before_discharge(clinic: Clinic):
    order = clinic.publish_signed_order("KL-1001")
    clinic.wait_for_sessions(order)
    session_id = order.session_id(1)
    path = f"/sessions/{session_id}"
    t = clinical_times(hours_ago=2)
    _start_infusion(clinic, path, t)

    raised = clinic.post(f"{path}/vitals", vitals(t(25), 185, 112, 96, reading_id="r-25"), expect=201)
    alert_id = raised["recorded"]["alert_id"]
    assert alert_id and raised["open_alert_ids"] == [alert_id]
    flag_value = f"{session_id}/{alert_id}"
    messages = wait_for(lambda: [m for m in clinic.documentation_messages("alert-raised")
                                 if find_identifier(m.first("Flag") or {}, "infusion-alert") == flag_value],
                        what="the alert-raised message")
    assert [r["resourceType"] for r in messages[0].resources] == ["Flag", "Observation", "Observation",
                                                                  "Observation", "Device", "Provenance"]
    flag = clinic.in_ehr("Flag", "infusion-alert", flag_value)
    assert flag["status"] == "active" and "systolic 185 mmHg" in flag["code"]["text"]

    clinic.post(f"{path}/vitals", vitals(t(40), 150, 92, 90, reading_id="r-40"), expect=201)
    clinic.post(f"{path}/end", {"by": NURSE, "at": t(50)})
    clinic.call("PUT", f"{path}/administration", administration(order, t(10), t(50)))
    for minute, systolic, diastolic in [(55, 142, 88), (70, 134, 84), (82, 132, 84)]:
        clinic.post(f"{path}/vitals", vitals(t(minute), systolic, diastolic, 80), expect=201)
    blocked = clinic.post(f"{path}/discharge", discharge(t(85), override_reason="doctor reviewed"), expect=409)
    assert any(alert_id in issue["diagnostics"] for issue in blocked["issue"])  # an open alert cannot be overridden

    half_rate = round(order.placed.order.calculation.rate_ml_per_h / 2, 1)
    clinic.post(f"{path}/alerts/{alert_id}/action", {"by": NURSE, "at": t(27), "kind": "rate-reduced",
                                                     "rate_ml_per_h": half_rate, "detail": "BP rechecked"})
    # The charted rate change reaches the administration record (taken from the chart), then it is reviewed.
    clinic.call("PUT", f"{path}/administration", administration(order, t(10), t(50), rate_changes=[],
                                                                dose_discrepancy_reason="rate halved for BP"))
    clinic.post(f"{path}/cadss/not-rated", {"by": NURSE, "at": t(50), "scheduled_minute": 40, "reason": "asleep"})
    finish_recovery_paperwork(clinic, path, t(84), t(84))
    assert clinic.post(f"{path}/discharge", discharge(t(85)))["status"] == "discharged"
    closed = clinic.in_ehr("Flag", "infusion-alert", flag_value, until=lambda r: r["status"] == "inactive")
    assert f"action: rate reduced to {half_rate:g} mL/h: BP rechecked" in closed["code"]["text"]


def test_adverse_event_that_stops_the_infusion_reaches_the_ehr(clinic: Clinic):
    order = clinic.publish_signed_order("KL-1002")
    clinic.wait_for_sessions(order)
    session_id = order.session_id(1)
    path = f"/sessions/{session_id}"
    t = clinical_times(hours_ago=2)
    _start_infusion(clinic, path, t)

    event = clinic.post(f"{path}/adverse-events", {
        "by": NURSE, "at": t(20), "event_id": "ae-1", "kind": "emergence-reaction", "severity": "severe",
        "outcome": "recovering", "description": "marked distress", "action_taken": "infusion stopped"}, expect=201)
    assert event["adverse_events"][0]["kind"] == "emergence-reaction"
    aborted = clinic.post(f"{path}/abort", {"by": NURSE, "at": t(22), "reason": "severe emergence reaction"})
    assert aborted["status"] == "aborted"
    short = administration(order, t(10), t(22))
    refused = clinic.call("PUT", f"{path}/administration", short, expect=400)
    assert refused["issue"][0]["expression"] == ["dose_discrepancy_reason"]
    clinic.call("PUT", f"{path}/administration", {**short, "dose_discrepancy_reason": "stopped for emergence"})
    clinic.post(f"{path}/adverse-events", {
        "by": NURSE, "at": t(20), "event_id": "ae-1", "kind": "emergence-reaction", "severity": "severe",
        "outcome": "resolved", "description": "marked distress", "action_taken": "infusion stopped"}, expect=201)

    adverse_event = wait_for(lambda: _resolved_adverse_event(clinic, order.patient_id, f"{session_id}/ae-1"),
                             what="the resolved AdverseEvent in the EHR")
    administered = clinic.in_ehr("MedicationAdministration", "infusion-administration", session_id)
    assert adverse_event["suspectEntity"][0]["instance"]["reference"] == \
        f"MedicationAdministration/{administered['id']}"
    assert administered["status"] == "stopped"
    procedure = clinic.in_ehr("Procedure", "infusion", session_id)
    assert procedure["status"] == "stopped" and procedure["complication"][0]["text"] == "emergence reaction"


def _resolved_adverse_event(clinic: Clinic, patient_id: str, value: str) -> dict | None:
    """R4 defines no ``identifier`` search parameter for AdverseEvent: search the patient's, match the identifier."""
    system = identifier("adverse-event", value)["system"]
    matches = [r for r in clinic.ehr.client.search("AdverseEvent", {"subject": f"Patient/{patient_id}"})
               if r.get("identifier", {}).get("system") == system and r["identifier"].get("value") == value]
    assert len(matches) <= 1, f"{len(matches)} AdverseEvents carry {value}"
    return matches[0] if matches and matches[0]["outcome"]["coding"][0]["code"] == "resolved" else None


def _start_infusion(clinic: Clinic, path: str, t) -> None:  # type: ignore[no-untyped-def]
    clinic.post(f"{path}/check-in", {"by": NURSE, "at": t(0)})
    clinic.post(f"{path}/pre-check", pre_check(t(5), 128, 82))
    clinic.post(f"{path}/start", {"by": NURSE, "at": t(10)})
