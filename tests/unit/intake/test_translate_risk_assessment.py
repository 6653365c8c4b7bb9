import dataclasses

import pytest

from services.intake.domain.decision import DecisionSummary, EligibilityOutcome
from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.errors import IntakeStateError
from services.intake.domain.recording import record_consent, record_trials
from shared.errors import FhirMappingError
from services.intake.translators.risk_assessment_in import decision_summary_from_fhir
from services.intake.translators.risk_assessment_out import eligibility_risk_assessment
from shared.fhir.codes import KETALINK_LOCAL

from .builders import DECIDED_AT, PATIENT_ID, SERTRALINE_FAILED, eligible_intake


def decided(settings, intake=None):
    return decide_eligibility(intake or eligible_intake(settings), settings, DECIDED_AT)


def test_risk_assessment_matches_the_contract(settings):
    intake = decided(settings)
    resource = eligibility_risk_assessment(intake, PATIENT_ID)
    assert resource["identifier"] == [{"system": "https://ketalink.example.org/fhir/identifier/eligibility",
                                       "value": "intake-0001"}]
    assert resource["status"] == "final"
    assert resource["subject"] == {"reference": "Patient/pat-123"}
    assert resource["code"]["coding"][0] == {"system": KETALINK_LOCAL, "code": "ketamine-eligibility",
                                             "display": "Eligibility for IV ketamine therapy"}
    assert resource["occurrenceDateTime"] == "2026-03-02T11:30:00+00:00"
    prediction = resource["prediction"][0]
    assert prediction["outcome"]["coding"][0]["code"] == "eligible"
    assert prediction["outcome"]["coding"][0]["system"] == KETALINK_LOCAL
    assert prediction["rationale"] == "; ".join(r.text for r in intake.decision.reasons)


@pytest.mark.parametrize("change, outcome", [
    (lambda i: i, EligibilityOutcome.ELIGIBLE),
    (lambda i: record_trials(i, [SERTRALINE_FAILED]), EligibilityOutcome.NOT_ELIGIBLE),
    (lambda i: record_consent(i, dataclasses.replace(i.consent, ride_home_agreed=False)),
     EligibilityOutcome.NOT_ELIGIBLE),
    (lambda i: dataclasses.replace(i, consent=None), EligibilityOutcome.NEEDS_REVIEW),
])
def test_round_trip_gives_what_orders_reads(settings, change, outcome):
    intake = decided(settings, change(eligible_intake(settings)))
    summary = decision_summary_from_fhir(eligibility_risk_assessment(intake, PATIENT_ID))
    assert summary == DecisionSummary("intake-0001", PATIENT_ID, outcome, DECIDED_AT, intake.decision.rationale)


def test_undecided_intake_has_no_risk_assessment(settings):
    with pytest.raises(IntakeStateError):
        eligibility_risk_assessment(eligible_intake(settings), PATIENT_ID)


@pytest.mark.parametrize("change, field", [
    (lambda r: r.update(code={"text": "fall risk"}), "RiskAssessment.code"),
    (lambda r: r.update(status="preliminary"), "RiskAssessment.status"),
    (lambda r: r.pop("identifier"), "RiskAssessment.identifier"),
    (lambda r: r["prediction"][0].update(outcome={"text": "probably fine"}), "RiskAssessment.prediction[0].outcome"),
    (lambda r: r.pop("occurrenceDateTime"), "RiskAssessment.occurrenceDateTime"),
])
def test_what_cannot_be_read_is_named(settings, change, field):
    resource = eligibility_risk_assessment(decided(settings), PATIENT_ID)
    change(resource)
    with pytest.raises(FhirMappingError) as error:
        decision_summary_from_fhir(resource)
    assert error.value.field == field
