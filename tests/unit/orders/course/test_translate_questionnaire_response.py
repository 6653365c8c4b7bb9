"""QuestionnaireResponse out and in: Ketalink's own responses round-trip; the EHR's (and the intake's) are scored
from their items; errors name the item."""
import copy
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from services.orders.course.domain.errors import CourseInputError
from services.orders.course.domain.measurements import ScoreContext, ScoreSource, cssrs_screening, scale_score
from services.orders.course.translators.questionnaire_response_in import (
    cssrs_from_questionnaire_response,
    questionnaire_instrument,
    score_from_questionnaire_response,
)
from services.orders.course.translators.questionnaire_response_out import (
    questionnaire_response_from_cssrs,
    questionnaire_response_from_score,
)
from shared.errors import FhirMappingError
from shared.scales import CssrsRisk, Scale

from tests.unit.orders.course.builders import COURSE, PATIENT, PHQ9_ITEMS, ehr_phq9, phq9, settings
from shared.people import Person

AT = datetime(2026, 11, 26, 8, 30, tzinfo=timezone.utc)
class TestOut:
    def test_a_patient_answered_phq9_has_the_items_the_total_and_the_links(self):
        score = phq9("m-1", 14, AT, ScoreContext.PRE_INFUSION, item9=1, session_id="session-2")
        resource = questionnaire_response_from_score(score, PATIENT, COURSE)
        assert resource["identifier"] == {"system": "https://ketalink.example.org/fhir/identifier/"
                                                    "course-questionnaire-response", "value": "m-1"}
        assert resource["questionnaire"] == "https://ketalink.example.org/fhir/Questionnaire/phq-9"
        assert (resource["status"], resource["authored"]) == ("completed", "2026-11-26T08:30:00+00:00")
        assert resource["source"] == {"reference": f"Patient/{PATIENT}"} and "author" not in resource
        assert [item["linkId"] for item in resource["item"]] == PHQ9_ITEMS + ["44261-6"]
        assert resource["item"][-1]["answer"] == [{"valueInteger": 14}]
        assert resource["encounter"]["identifier"]["value"] == "session-2"
        assert resource["basedOn"][0]["identifier"]["value"] == COURSE
        assert resource["meta"]["tag"][0]["code"] == "score-context-pre-infusion"

    def test_a_clinician_rating_names_the_rater_and_a_rescoring_is_amended(self):
        madrs = scale_score("madrs-1", Scale.MADRS, [3] * 10, AT, ScoreSource.CLINICIAN, ScoreContext.FOLLOW_UP,
                            recorded_by=Person("Practitioner/dr-rater", "Dr Rater"))
        resource = questionnaire_response_from_score(replace(madrs, rescored=True), PATIENT, COURSE)
        assert resource["author"] == {"reference": "Practitioner/dr-rater", "display": "Dr Rater"} and "source" not in resource
        assert resource["status"] == "amended" and resource["item"][0]["linkId"] == "madrs-item-1"

    def test_a_questionnaire_from_the_ehr_is_not_sent_back(self):
        score = score_from_questionnaire_response(ehr_phq9()).score
        with pytest.raises(CourseInputError):
            questionnaire_response_from_score(score, PATIENT, COURSE)


class TestRoundTrip:
    @pytest.mark.parametrize("score", [
        phq9("m-1", 14, AT, ScoreContext.PRE_INFUSION, item9=1, session_id="session-2"),
        replace(phq9("m-2", 3, AT, ScoreContext.FOLLOW_UP, source=ScoreSource.CLINICIAN, recorded_by=Person("Practitioner/dr-a", "Dr A")),
                rescored=True),
        scale_score("g-1", Scale.GAD7, [1, 2, 3, 0, 1, 2, 3], AT, ScoreSource.PATIENT_LINK, ScoreContext.BASELINE),
        scale_score("q-1", Scale.QIDS_SR16, [1, 3, 0, 2, 2, 0, 2, 1, 3, 1, 2, 3, 1, 2, 1, 2], AT,
                    ScoreSource.PATIENT_LINK, ScoreContext.FOLLOW_UP),
        scale_score("mad-1", Scale.MADRS, [4, 4, 3, 3, 2, 3, 3, 4, 3, 1], AT, ScoreSource.CLINICIAN,
                    ScoreContext.BASELINE, recorded_by=Person("Practitioner/dr-rater", "Dr Rater")),
    ], ids=["phq9", "phq9-rescored", "gad7", "qids", "madrs"])
    def test_scores(self, score):
        received = score_from_questionnaire_response(questionnaire_response_from_score(score, PATIENT, COURSE))
        assert (received.patient_id, received.course_id, received.score) == (PATIENT, COURSE, score)

    def test_cssrs(self):
        screening = cssrs_screening("c-1", {"wish-to-be-dead": True, "suicidal-thoughts": True,
                                            "ideation-with-method": True, "ideation-with-intent": False,
                                            "ideation-with-plan-and-intent": False,
                                            "suicidal-behaviour-lifetime": False}, AT, ScoreSource.CLINICIAN,
                                    ScoreContext.PRE_INFUSION, settings(), recorded_by=Person("Practitioner/nurse-kim", "Nurse Kim"),
                                    session_id="session-3")
        resource = questionnaire_response_from_cssrs(screening, PATIENT, COURSE)
        assert resource["item"][0]["answer"][0]["valueCoding"]["code"] == "LA33-6"
        received = cssrs_from_questionnaire_response(resource, settings())
        assert received.screening == screening and received.screening.risk is CssrsRisk.MODERATE


class TestFromTheEhr:
    def test_an_ehr_phq9_with_loinc_answers_in_a_group_is_scored_from_its_items(self):
        received = score_from_questionnaire_response(ehr_phq9(), context=ScoreContext.PRE_INFUSION)
        score = received.score
        assert (received.patient_id, received.course_id) == (PATIENT, None)
        assert score.item_scores == (1, 2, 3, 0, 1, 0, 1, 0, 0) and score.total_score == 8
        assert (score.source, score.context, score.ehr_questionnaire_response_id) == (
            ScoreSource.EHR_MESSAGE, ScoreContext.PRE_INFUSION, "qr-ehr-55")
        assert score.measurement_id == "ehr-questionnaire-response-qr-ehr-55"
        assert score.measured_at == datetime(2026, 11, 30, 12, 15, tzinfo=timezone.utc)
        assert score_from_questionnaire_response(ehr_phq9()).score.context is ScoreContext.FOLLOW_UP

    def test_the_intakes_baseline_phq9_becomes_the_course_baseline(self):
        """The contract with the intake: its PHQ-9 QuestionnaireResponse (in intake-eligibility-decided, no server
        id) reads as a baseline keyed by the intake's identifier, and the course's Observation derives from it."""
        from services.intake.domain.scales import Phq9Response
        from services.intake.translators.questionnaire_response_scales_out import phq9_questionnaire_response
        from services.orders.course.translators.observation_score_in import score_from_observation
        from services.orders.course.translators.observation_score_out import observation_from_score
        intake_response = phq9_questionnaire_response(Phq9Response.checked([2, 3, 2, 2, 1, 2, 2, 1, 0], AT),
                                                      PATIENT, "intake-1")
        score = score_from_questionnaire_response(intake_response).score
        assert (score.total_score, score.context, score.source, score.measurement_id) == (
            15, ScoreContext.BASELINE, ScoreSource.INTAKE, "intake-1-phq-9")
        with pytest.raises(CourseInputError):
            questionnaire_response_from_score(score, PATIENT, COURSE)
        observation = observation_from_score(score, PATIENT, COURSE)
        assert observation["derivedFrom"][0]["identifier"] == intake_response["identifier"]
        assert score_from_observation(observation).score == score

    def test_the_intakes_madrs_and_cssrs_read_too(self):
        from services.intake.domain.recording import checked_cssrs
        from services.intake.domain.scales import MadrsRating
        from services.intake.domain.settings import IntakeSettings
        from services.intake.translators.questionnaire_response_scales_out import (
            cssrs_questionnaire_response,
            madrs_questionnaire_response,
        )
        madrs = madrs_questionnaire_response(MadrsRating.checked([3] * 10, AT, Person("Practitioner/dr-r", "Dr R")), PATIENT, "intake-1")
        score = score_from_questionnaire_response(madrs).score
        assert (score.scale, score.total_score, score.recorded_by) == (Scale.MADRS, 30, Person("Practitioner/dr-r", "Dr R"))
        screen = checked_cssrs({"wish-to-be-dead": True, "suicidal-thoughts": False,
                                "suicidal-behaviour-lifetime": False}, AT, IntakeSettings())
        received = cssrs_from_questionnaire_response(cssrs_questionnaire_response(screen, PATIENT, "intake-1"),
                                                     settings())
        assert (received.screening.risk, received.screening.source) == (CssrsRisk.LOW, ScoreSource.INTAKE)

    def test_a_response_from_the_ehr_needs_its_id(self):
        resource = ehr_phq9()
        del resource["id"]
        with pytest.raises(FhirMappingError) as error:
            score_from_questionnaire_response(resource)
        assert error.value.field == "QuestionnaireResponse.id"


class TestRefused:
    def test_a_missing_item_is_named_by_its_link_id(self):
        resource = ehr_phq9()
        del resource["item"][0]["item"][8]
        with pytest.raises(FhirMappingError) as error:
            score_from_questionnaire_response(resource)
        assert (error.value.field, error.value.message) == ("QuestionnaireResponse.item[44260-8]",
                                                            "item 9 is required and missing")

    def test_an_out_of_range_integer_is_named(self):
        resource = questionnaire_response_from_score(phq9("m", 10, AT), PATIENT, COURSE)
        resource["item"][2]["answer"] = [{"valueInteger": 4}]
        with pytest.raises(FhirMappingError, match="outside 0-3") as error:
            score_from_questionnaire_response(resource)
        assert error.value.field == "QuestionnaireResponse.item[44259-0]"

    def test_a_total_that_disagrees_with_the_items(self):
        resource = questionnaire_response_from_score(phq9("m", 10, AT), PATIENT, COURSE)
        resource["item"][-1]["answer"] = [{"valueInteger": 12}]
        with pytest.raises(FhirMappingError, match="total 12 disagrees with the items \\(10\\)") as error:
            score_from_questionnaire_response(resource)
        assert error.value.field == "QuestionnaireResponse.item[44261-6]"

    @pytest.mark.parametrize("change, field", [
        ({"status": "in-progress"}, "QuestionnaireResponse.status"),
        ({"questionnaire": "http://example.org/Questionnaire/beck"}, "QuestionnaireResponse.questionnaire"),
        ({"subject": {"reference": "Group/1"}}, "QuestionnaireResponse.subject"),
        ({"authored": None}, "QuestionnaireResponse.authored"),
    ])
    def test_what_cannot_be_scored(self, change, field):
        resource = {k: v for k, v in {**ehr_phq9(), **change}.items() if v is not None}
        with pytest.raises(FhirMappingError) as error:
            score_from_questionnaire_response(resource)
        assert error.value.field == field

    def test_a_gad7_coded_answer_is_read_but_a_madrs_one_is_not(self):
        madrs = questionnaire_response_from_score(
            scale_score("mad", Scale.MADRS, [1] * 10, AT, ScoreSource.CLINICIAN, ScoreContext.FOLLOW_UP), PATIENT,
            COURSE)
        broken = copy.deepcopy(madrs)
        broken["item"][0]["answer"] = [{"valueCoding": {"system": "http://loinc.org", "code": "LA6569-3"}}]
        with pytest.raises(FhirMappingError, match="expected valueInteger") as error:
            score_from_questionnaire_response(broken)
        assert error.value.field == "QuestionnaireResponse.item[madrs-item-1].answer"

    def test_a_cssrs_answer_that_breaks_the_skip_logic_is_named_by_its_item(self):
        resource = {
            "resourceType": "QuestionnaireResponse", "id": "c-9", "status": "completed",
            "questionnaire": "https://ketalink.example.org/fhir/Questionnaire/cssrs-screener|2",
            "subject": {"reference": f"Patient/{PATIENT}"}, "authored": "2026-11-30T12:00:00Z",
            "item": [{"linkId": code, "answer": [{"valueBoolean": value}]} for code, value in
                     (("93246-7", False), ("93247-5", True), ("93267-3", False))],
        }
        assert questionnaire_instrument(resource) == "cssrs"
        with pytest.raises(FhirMappingError, match="required when suicidal-thoughts is yes") as error:
            cssrs_from_questionnaire_response(resource, settings())
        assert error.value.field == "QuestionnaireResponse.item[93248-3]"
        with pytest.raises(FhirMappingError):
            score_from_questionnaire_response(resource)
