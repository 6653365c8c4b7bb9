import dataclasses

import pytest

from services.intake.domain.contraindications import Presence
from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.errors import IntakeStateError
from services.intake.domain.recording import record_contraindications, record_trials, record_vitals
from services.intake.domain.vitals import VitalReading, BaselineVitals
from services.intake.translators.message_out import intake_decision_resources
from shared.fhir.datatypes import find_identifier

from .builders import DECIDED_AT, PATIENT_ID, SERTRALINE_FAILED, T0, eligible_intake, screen_answers
from tests.unit.intake.builders import ADA


def resources_for(settings, intake=None):
    return intake_decision_resources(decide_eligibility(intake or eligible_intake(settings), settings, DECIDED_AT),
                                     PATIENT_ID)


def kind_and_value(resource):
    ident = resource["identifier"]
    ident = ident if isinstance(ident, dict) else ident[0]
    return ident["system"].rsplit("/", 1)[1], ident["value"]


def test_focus_resources_in_contract_order(settings):
    resources = resources_for(settings)
    assert [r["resourceType"] for r in resources] == (
        ["RiskAssessment", "Consent"] + ["Observation"] * 9 + ["QuestionnaireResponse"] * 4 + ["Condition"])
    assert [kind_and_value(r) for r in resources] == [
        ("eligibility", "intake-0001"), ("consent", "intake-0001"),
        ("intake-observation", "intake-0001-blood-pressure"), ("intake-observation", "intake-0001-heart-rate"),
        ("intake-observation", "intake-0001-spo2"), ("intake-observation", "intake-0001-respiratory-rate"),
        ("intake-observation", "intake-0001-body-weight"), ("intake-observation", "intake-0001-body-height"),
        ("intake-observation", "intake-0001-phq9-total"), ("intake-observation", "intake-0001-madrs-total"),
        ("intake-observation", "intake-0001-cssrs-risk"),
        ("intake-questionnaire-response", "intake-0001-screening"),
        ("intake-questionnaire-response", "intake-0001-phq-9"), ("intake-questionnaire-response", "intake-0001-madrs"),
        ("intake-questionnaire-response", "intake-0001-cssrs"), ("intake-condition", "intake-0001-trd"),
    ]
    assert all(r.get("subject", r.get("patient")) == {"reference": "Patient/pat-123"} for r in resources)


def test_basis_points_at_consent_and_every_screening_resource(settings):
    resources = resources_for(settings)
    basis = resources[0]["basis"]
    assert basis[0] == {"type": "Consent", "identifier": resources[1]["identifier"][0]}
    referenced = {(b["type"], b["identifier"]["value"]) for b in basis}
    for resource in resources[2:-1]:
        assert (resource["resourceType"], kind_and_value(resource)[1]) in referenced


def test_ehr_weight_is_referenced_not_resent(settings):
    intake = record_vitals(eligible_intake(settings), BaselineVitals(weight_kg=VitalReading(82.5, T0, "ehr-w-1")),
                           settings)
    resources = resources_for(settings, intake)
    assert ("intake-observation", "intake-0001-body-weight") not in [kind_and_value(r) for r in resources]
    assert {"reference": "Observation/ehr-w-1"} in resources[0]["basis"]


def test_not_trd_sends_no_trd_condition_and_present_contraindications_end_with_flags(settings):
    intake = record_trials(eligible_intake(settings), [SERTRALINE_FAILED])
    intake = record_contraindications(intake, screen_answers(settings, arteriovenous_malformation=Presence.PRESENT),
                                      T0, ADA, settings)
    resources = resources_for(settings, intake)
    assert resources[0]["prediction"][0]["outcome"]["coding"][0]["code"] == "not-eligible"
    assert "Condition" not in [r["resourceType"] for r in resources]
    assert resources[-1]["resourceType"] == "Flag"
    assert find_identifier(resources[-1], "intake-flag") == "intake-0001-arteriovenous-malformation"


def test_missing_consent_still_sends_a_proposed_consent(settings):
    intake = dataclasses.replace(eligible_intake(settings), consent=None)
    resources = resources_for(settings, intake)
    assert resources[0]["prediction"][0]["outcome"]["coding"][0]["code"] == "needs-review"
    assert resources[1]["resourceType"] == "Consent" and resources[1]["status"] == "proposed"


def test_refuses_an_undecided_intake_or_another_patient(settings):
    with pytest.raises(IntakeStateError):
        intake_decision_resources(eligible_intake(settings), PATIENT_ID)
    with pytest.raises(ValueError, match="patient_id"):
        intake_decision_resources(decide_eligibility(eligible_intake(settings), settings, DECIDED_AT), "other")
