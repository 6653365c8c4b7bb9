"""Issue 13 defect 6 over the real broker and EHR sandbox: the order arrives on ketalink.orders.events as the orders
service publishes it; infusion 2 cannot be checked in on infusion 1's day (before its window, hours after the first
infusion started) unless a prescriber overrides with a documented reason, which the session keeps."""
from __future__ import annotations

import json

import pytest

from tests.integration.documentation.clinic import DOCTOR, NURSE, clinical_times, pre_check

pytestmark = pytest.mark.integration


def test_check_in_before_the_window_and_too_soon_after_the_previous_infusion_is_refused_unless_overridden(clinic):
    order = clinic.publish_signed_order("KL-1003")
    clinic.wait_for_sessions(order)
    t = clinical_times(hours_ago=2)
    first = f"/sessions/{order.session_id(1)}"
    clinic.post(f"{first}/check-in", {"by": NURSE, "at": t(0)})
    clinic.post(f"{first}/pre-check", pre_check(t(5), 126, 80, reading_id="pre"))
    assert clinic.post(f"{first}/start", {"by": NURSE, "at": t(10)})["status"] == "infusing"

    second = f"/sessions/{order.session_id(2)}"
    refused = clinic.post(f"{second}/check-in", {"by": NURSE, "at": t(100)}, expect=409)
    text = json.dumps(refused)
    assert "before the infusion's scheduled window" in text
    assert "after the previous infusion" in text and "minimum is 24 h" in text
    assert clinic.get(second)["status"] == "scheduled"

    # SMART is off here: who overrides is who posts (``by``); with SMART on it is the signed-in prescriber
    # (tests/integration/documentation/test_check_in_override_roles.py)
    checked_in = clinic.post(f"{second}/check-in", {
        "by": DOCTOR, "at": t(100),
        "override_reason": "leaving the country tomorrow; second infusion today agreed with psychiatry"})
    assert checked_in["status"] == "checked-in"
    override = checked_in["check_in_override"]
    assert override["overridden_by"]["display"] == DOCTOR and "leaving the country" in override["reason"]
    assert len(override["rules"]) == 2
