"""Issue 13 defect 19 over the real broker and EHR sandbox: a rate reduction charted as an alert's action reaches
the administration record (taken from the chart), the dose given is computed from the segments, discharge waits
for the review of given versus ordered, and the MedicationAdministration the EHR receives carries the computed
dose (not the ordered one). With it: the named escort, the follow-up Task, a rescue medication as its own
MedicationAdministration, and the controlled-substance record (amounts on the administration, witness Provenance)."""
from __future__ import annotations

import pytest

from services.documentation.translators.provenance_waste_witness_out import waste_witness_provenance_id
from tests.integration.documentation.clinic import (
    DOCTOR, NURSE, Clinic, administration, clinical_times, controlled_substance, discharge, pre_check, vitals,
)
from tests.support.kafka_tools import wait_for

pytestmark = pytest.mark.integration


def test_a_charted_rate_reduction_sets_the_dose_the_ehr_receives(clinic: Clinic):
    order = clinic.publish_signed_order("KL-1001")
    clinic.wait_for_sessions(order)
    sid = order.session_id(1)
    path = f"/sessions/{sid}"
    t = clinical_times(hours_ago=3)
    calculation = order.placed.order.calculation
    clinic.post(f"{path}/check-in", {"by": NURSE, "at": t(0)})
    clinic.post(f"{path}/pre-check", pre_check(t(5), 128, 82))
    clinic.post(f"{path}/start", {"by": NURSE, "at": t(10)})
    duration = calculation.duration_min
    half_way = 10 + duration / 2
    alert_id = clinic.post(f"{path}/vitals", vitals(t(half_way), 186, 104, 90), expect=201)["recorded"]["alert_id"]
    half_rate = round(calculation.rate_ml_per_h / 2, 1)
    clinic.post(f"{path}/alerts/{alert_id}/action", {"by": NURSE, "at": t(half_way), "kind": "rate-reduced",
                                                     "rate_ml_per_h": half_rate, "detail": "BP 186/104"})
    rescue = clinic.post(f"{path}/vitals", vitals(t(half_way + 5), 182, 100, 88), expect=201)["recorded"]["alert_id"]
    clinic.post(f"{path}/alerts/{rescue}/action", {"by": DOCTOR, "at": t(half_way + 6), "kind": "medication-given",
                                                   "rescue": {"name": "labetalol", "dose_value": 10, "dose_unit": "mg",
                                                              "route": "intravenous"}})
    end = 10 + duration
    clinic.post(f"{path}/end", {"by": NURSE, "at": t(end)})

    # The form starts from the chart: the ordered rate, then the charted reduction.
    charted = clinic.get(path)["charted_pump"]["rate_changes"]
    assert [c["rate_ml_per_h"] for c in charted] == [calculation.rate_ml_per_h, half_rate]
    one_rate = administration(order, t(10), t(end))  # the old form's single prefilled rate: refused
    refused = clinic.call("PUT", f"{path}/administration", one_rate, expect=400)
    assert refused["issue"][0]["expression"] == ["rate_changes"]
    clinic.call("PUT", f"{path}/administration", administration(
        order, t(10), t(end), rate_changes=[], dose_discrepancy_reason="rate halved for BP"))
    given = clinic.get(path)["given"]
    expected_ml = calculation.rate_ml_per_h * (duration / 2) / 60 + half_rate * (duration / 2) / 60
    assert given["total_ml"] == pytest.approx(expected_ml, abs=0.05)
    assert given["total_mg"] < calculation.dose_mg * 0.8 and given["reviewed"] is False

    for minute in (end + 5, end + 20, end + 32):
        clinic.post(f"{path}/vitals", vitals(t(minute), 132, 84, 78), expect=201)
    for timepoint in ({"scheduled_minute": 40}, {"end_of_recovery": True}):
        clinic.post(f"{path}/cadss/not-rated", {"by": NURSE, "at": t(end + 33), "reason": "asleep", **timepoint})
    held = clinic.post(f"{path}/discharge", discharge(t(end + 35), override_reason="stable"), expect=409)
    assert "given versus ordered not reviewed: review the administration record" in [
        issue["diagnostics"] for issue in held["issue"]]
    no_escort = discharge(t(end + 35), escort_present=False, override_reason="taxi booked")
    assert any(i["diagnostics"].startswith("escort:") for i in clinic.post(f"{path}/discharge", no_escort,
                                                                            expect=409)["issue"])
    clinic.post(f"{path}/administration/review", {"by": DOCTOR, "at": t(end + 34), "comment": "short dose accepted"})
    done = clinic.post(f"{path}/discharge", discharge(t(end + 35)))
    assert done["status"] == "discharged"
    assert done["discharge_record"]["assessment"]["escort_name"] == "Sam Hill"
    clinic.call("PUT", f"{path}/controlled-substance",
                controlled_substance(t(end + 36), given["total_mg"], round(given["total_mg"] + 20, 1),
                                     witness=clinic.witness()))

    administered = clinic.in_ehr("MedicationAdministration", "infusion-administration", sid,
                                 until=lambda r: "extension" in r)
    assert administered["dosage"]["dose"]["value"] == pytest.approx(given["total_mg"], abs=0.05)
    assert administered["dosage"]["dose"]["value"] != pytest.approx(calculation.dose_mg, abs=0.5)
    parts = {e["url"]: e for e in administered["extension"][0]["extension"]}
    assert parts["wasted"]["valueQuantity"]["value"] == pytest.approx(20, abs=0.05)
    labetalol = clinic.in_ehr("MedicationAdministration", "rescue-administration", f"{sid}/{rescue}")
    assert labetalol["medicationCodeableConcept"]["text"] == "labetalol"
    assert labetalol["performer"][0]["actor"]["display"] == DOCTOR
    task = clinic.in_ehr("Task", "follow-up-call", sid)
    assert task["status"] == "requested" and task["owner"]["display"] == NURSE
    witness = wait_for(lambda: _read_or_none(clinic, "Provenance", waste_witness_provenance_id(sid)),
                       what="the waste-witness Provenance")
    assert [a["type"]["coding"][0]["code"] for a in witness["agent"]] == ["performer", "WIT"]

    clinic.post(f"{path}/follow-up-call", {"by": NURSE, "at": t(end + 40), "outcome": "reached-well"})
    clinic.in_ehr("Task", "follow-up-call", sid, until=lambda r: r["status"] == "completed")


def _read_or_none(clinic: Clinic, resource_type: str, resource_id: str) -> dict | None:
    from shared.fhir.client import FhirNotFound

    try:
        return clinic.ehr.client.read(resource_type, resource_id)
    except FhirNotFound:
        return None
