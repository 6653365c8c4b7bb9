import json

import pytest

from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.model import Intake
from services.intake.domain.overrides import ClinicianOverride, OverrideTarget
from services.intake.domain.patient import AdministrativeSex, PatientSummary, Referral, ReferralSource
from services.intake.domain.recording import record_patient, reopen_intake, start_intake
from shared.records import RecordError

from .builders import DECIDED_AT, PATIENT_ID, T0, eligible_intake
from tests.unit.intake.builders import HOPPER


def stored(intake):
    """What the service writes to SQL and reads back."""
    return Intake.from_dict(json.loads(json.dumps(intake.to_dict())))


def test_empty_intake_round_trips():
    intake = start_intake("i-1", "p-1", T0, Referral("p-1", ReferralSource.CLINICIAN, T0, "Dr A"))
    assert stored(intake) == intake


def test_decided_and_reopened_intake_round_trips_through_json(settings):
    intake = record_patient(eligible_intake(settings),
                            PatientSummary(PATIENT_ID, 44, AdministrativeSex.FEMALE, "Ada Example"))
    decided = decide_eligibility(intake, settings, DECIDED_AT)
    reopened = reopen_intake(decided, HOPPER, DECIDED_AT, "recheck BP")
    assert stored(decided) == decided
    assert stored(reopened) == reopened


def test_dict_form_uses_iso_strings_and_enum_values(settings):
    data = decide_eligibility(eligible_intake(settings), settings, DECIDED_AT).to_dict()
    assert data["started_at"] == "2026-03-02T09:30:00+00:00"
    assert data["status"] == "decided"
    assert data["decision"]["outcome"] == "eligible"
    assert data["decision"]["reasons"][0] == {
        "code": "trd-met", "effect": "info", "text": data["decision"]["reasons"][0]["text"]}
    assert data["phq9"]["item_scores"] == [2, 3, 2, 2, 1, 2, 2, 1, 0]
    assert data["vitals"]["blood_pressure"]["systolic_mmhg"] == 128


def test_parts_round_trip_on_their_own():
    override = ClinicianOverride(OverrideTarget.CONTRAINDICATION, "uncontrolled-hypertension", HOPPER, T0, "why")
    assert ClinicianOverride.from_dict(override.to_dict()) == override


def test_a_broken_stored_document_names_the_bad_path(settings):
    data = eligible_intake(settings).to_dict()
    data["vitals"]["blood_pressure"]["measured_at"] = "2026-03-02T09:30:00"  # lost its timezone
    with pytest.raises(RecordError, match=r"\$\.vitals\.blood_pressure\.measured_at"):
        Intake.from_dict(data)
    del data["intake_id"]
    with pytest.raises(RecordError, match=r"\$\.intake_id: missing"):
        Intake.from_dict(data)
