import pytest

from services.orders.domain.eligibility import EligibilityStatus
from services.orders.translators.eligibility_in import eligibility_from_resources
from shared.errors import FhirMappingError
from services.orders.translators.risk_assessment_in import eligibility_from_risk_assessment
from tests.unit.orders.builders import INTAKE, PATIENT, consent, eligibility, risk_assessment, weight_observation


def test_eligible_with_active_consent():
    decision = eligibility_from_resources([risk_assessment(), consent(), weight_observation()])
    assert decision == eligibility(decided_at=decision.decided_at)
    assert decision.decided_at.isoformat() == "2026-11-15T14:30:00+00:00"
    assert (decision.patient_id, decision.intake_id, decision.consent_on_file) == (PATIENT, INTAKE, True)


@pytest.mark.parametrize("outcome, status", [("not-eligible", EligibilityStatus.NOT_ELIGIBLE),
                                             ("needs-review", EligibilityStatus.NEEDS_REVIEW)])
def test_other_outcomes(outcome, status):
    assert eligibility_from_resources([risk_assessment(outcome), consent()]).status is status


@pytest.mark.parametrize("overrides, expression", [
    ({"identifier": []}, "RiskAssessment.identifier"),
    ({"code": {"text": "suicide risk"}}, "RiskAssessment.code"),
    ({"status": "preliminary"}, "RiskAssessment.status"),
    ({"occurrenceDateTime": None}, "RiskAssessment.occurrenceDateTime"),
    ({"prediction": None}, "RiskAssessment.prediction[0].outcome"),
    ({"subject": {"reference": "Group/g1"}}, "RiskAssessment.subject"),
])
def test_a_risk_assessment_outside_the_contract_is_refused(overrides, expression):
    resource = {k: v for k, v in risk_assessment(**overrides).items() if v is not None}
    with pytest.raises(FhirMappingError) as caught:
        eligibility_from_risk_assessment(resource)
    assert caught.value.field == expression


def test_an_unknown_outcome_code_is_refused():
    with pytest.raises(FhirMappingError, match="unknown eligibility outcome 'maybe'"):
        eligibility_from_risk_assessment(risk_assessment("maybe"))


@pytest.mark.parametrize("resources", [[consent()], [risk_assessment(), risk_assessment()]])
def test_the_message_must_hold_exactly_one_risk_assessment(resources):
    with pytest.raises(FhirMappingError, match="expected one RiskAssessment"):
        eligibility_from_resources(resources)
