import copy

import pytest

from services.intake.domain.cssrs import CssrsRisk
from services.intake.domain.errors import IntakeInputError
from services.intake.domain.recording import checked_cssrs
from services.intake.domain.scales import MadrsRating, Phq9Response
from shared.errors import FhirMappingError
from services.intake.translators.observation_scores_out import (
    cssrs_risk_observation,
    madrs_total_observation,
    phq9_total_observation,
)
from services.intake.translators.questionnaire_response_scales_in import (
    cssrs_from_questionnaire_response,
    madrs_from_questionnaire_response,
    phq9_from_questionnaire_response,
)
from services.intake.translators.questionnaire_response_scales_out import (
    cssrs_questionnaire_response,
    madrs_questionnaire_response,
    phq9_questionnaire_response,
)
from shared.fhir.codes import KETALINK_LOCAL, LOINC, OBSERVATION_CATEGORY

from .builders import CSSRS_LOW, MADRS_ITEMS, PHQ9_ITEMS, T0
from tests.unit.intake.builders import ADA

PHQ9 = Phq9Response.checked(PHQ9_ITEMS, T0)
MADRS = MadrsRating.checked(MADRS_ITEMS, T0, ADA)
HIGH = {"wish-to-be-dead": True, "suicidal-thoughts": True, "ideation-with-method": True,
        "ideation-with-intent": False, "ideation-with-plan-and-intent": False,
        "suicidal-behaviour-lifetime": True, "suicidal-behaviour-past-3-months": True}


class TestQuestionnaireResponsesOut:
    def test_phq9_items_are_loinc_linked_with_the_computed_total(self):
        response = phq9_questionnaire_response(PHQ9, "pat-123", "i-1")
        assert [i["linkId"] for i in response["item"]] == [
            "44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8",
            "44261-6"]
        assert [i["answer"][0]["valueInteger"] for i in response["item"]] == PHQ9_ITEMS + [15]
        assert response["identifier"] == {
            "system": "https://ketalink.example.org/fhir/identifier/intake-questionnaire-response",
            "value": "i-1-phq-9"}
        assert (response["status"], response["authored"], response["subject"]) == (
            "completed", "2026-03-02T09:30:00+00:00", {"reference": "Patient/pat-123"})

    def test_cssrs_answers_are_loinc_yes_no_in_screener_order(self):
        response = cssrs_questionnaire_response(checked_cssrs(HIGH, T0, _settings()), "pat-123", "i-1")
        assert [(i["linkId"], i["answer"][0]["valueCoding"]["code"]) for i in response["item"]] == [
            ("93246-7", "LA33-6"), ("93247-5", "LA33-6"), ("93248-3", "LA33-6"), ("93249-1", "LA32-8"),
            ("93250-9", "LA32-8"), ("93267-3", "LA33-6"), ("93269-9", "LA33-6")]

    def test_madrs_records_the_rater(self):
        response = madrs_questionnaire_response(MADRS, "pat-123", "i-1")
        assert response["author"] == ADA.fhir_reference()
        assert response["item"][9]["linkId"] == "madrs-item-10"


class TestRoundTrip:
    def test_phq9(self):
        assert phq9_from_questionnaire_response(phq9_questionnaire_response(PHQ9, "p", "i")) == PHQ9

    def test_madrs(self):
        assert madrs_from_questionnaire_response(madrs_questionnaire_response(MADRS, "p", "i")) == MADRS

    @pytest.mark.parametrize("answers", [CSSRS_LOW, HIGH])
    def test_cssrs(self, answers):
        screen = checked_cssrs(answers, T0, _settings())
        back = cssrs_from_questionnaire_response(cssrs_questionnaire_response(screen, "p", "i"), _settings())
        assert back == screen


class TestQuestionnaireResponsesIn:
    def test_phq9_loinc_answer_codes_are_read_as_scores(self):
        response = phq9_questionnaire_response(PHQ9, "p", "i")
        response["item"][0]["answer"] = [{"valueCoding": {"system": LOINC, "code": "LA6571-9"}}]  # nearly every day
        response["item"] = response["item"][:9]
        assert phq9_from_questionnaire_response(response).item_scores[0] == 3

    def test_missing_item_is_named_by_the_domain_rule(self):
        response = phq9_questionnaire_response(PHQ9, "p", "i")
        del response["item"][3]
        with pytest.raises(IntakeInputError) as error:
            phq9_from_questionnaire_response(response)
        assert error.value.field == "phq9.items[3]"

    def test_total_disagreeing_with_items_is_refused(self):
        response = phq9_questionnaire_response(PHQ9, "p", "i")
        response["item"][9]["answer"] = [{"valueInteger": 20}]
        with pytest.raises(FhirMappingError, match="disagrees"):
            phq9_from_questionnaire_response(response)

    def test_other_questionnaire_is_refused(self):
        response = madrs_questionnaire_response(MADRS, "p", "i")
        with pytest.raises(FhirMappingError) as error:
            phq9_from_questionnaire_response(response)
        assert error.value.field == "QuestionnaireResponse.questionnaire"

    def test_cssrs_boolean_answers_are_accepted_and_text_answers_refused(self):
        response = cssrs_questionnaire_response(checked_cssrs(CSSRS_LOW, T0, _settings()), "p", "i")
        response["item"][0]["answer"] = [{"valueBoolean": False}]
        assert cssrs_from_questionnaire_response(response, _settings()).risk is CssrsRisk.NONE
        broken = copy.deepcopy(response)
        broken["item"][1]["answer"] = [{"valueString": "not really"}]
        with pytest.raises(FhirMappingError) as error:
            cssrs_from_questionnaire_response(broken, _settings())
        assert error.value.field == "QuestionnaireResponse.item[93247-5].answer"


class TestScoreObservations:
    def test_phq9_total_is_a_survey_observation_derived_from_its_response(self):
        observation = phq9_total_observation(PHQ9, "pat-123", "i-1")
        assert observation["code"]["coding"][0]["code"] == "44261-6"
        assert observation["category"][0]["coding"][0]["code"] == "survey"
        assert observation["category"][0]["coding"][0]["system"] == OBSERVATION_CATEGORY
        assert observation["valueQuantity"]["value"] == 15
        assert observation["derivedFrom"] == [{
            "type": "QuestionnaireResponse",
            "identifier": {"system": "https://ketalink.example.org/fhir/identifier/intake-questionnaire-response",
                           "value": "i-1-phq-9"}}]
        assert observation["identifier"][0]["value"] == "i-1-phq9-total"

    def test_madrs_total_uses_the_local_code(self):
        observation = madrs_total_observation(MADRS, "pat-123", "i-1")
        assert observation["code"]["coding"][0] == {"system": KETALINK_LOCAL, "code": "madrs-total",
                                                    "display": "Montgomery-Asberg Depression Rating Scale total score"}
        assert observation["valueQuantity"]["value"] == 30

    def test_phq9_and_madrs_totals_carry_their_severity_band_as_a_local_interpretation(self):
        phq9 = phq9_total_observation(PHQ9, "pat-123", "i-1")  # 15: moderately severe
        assert phq9["interpretation"] == [{"coding": [{
            "system": KETALINK_LOCAL, "code": "phq-9-severity-moderately-severe",
            "display": "PHQ-9 severity: moderately severe (15-19)"}], "text": "moderately severe (PHQ-9 15-19)"}]
        madrs = madrs_total_observation(MADRS, "pat-123", "i-1")  # 30: moderate
        assert madrs["interpretation"][0]["coding"][0]["code"] == "madrs-severity-moderate"
        assert madrs["interpretation"][0]["text"] == "moderate (MADRS 20-34)"

    def test_cssrs_risk_carries_local_and_loinc_answer_codes(self):
        high = cssrs_risk_observation(checked_cssrs(HIGH, T0, _settings()), "pat-123", "i-1")
        assert high["code"]["coding"][0]["code"] == "93374-7"
        assert [c["code"] for c in high["valueCodeableConcept"]["coding"]] == ["cssrs-risk-high", "LA9193-9"]
        none = cssrs_risk_observation(checked_cssrs({k: False for k in CSSRS_LOW}, T0, _settings()), "p", "i")
        assert [c["code"] for c in none["valueCodeableConcept"]["coding"]] == ["cssrs-risk-none"]


def _settings():
    from services.intake.domain.settings import IntakeSettings
    return IntakeSettings()
