"""Survey Observations out and in: category survey, derivedFrom the QuestionnaireResponse, items as components so
a reader scores them again; a total or risk that disagrees with the items is refused."""
import copy
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from services.orders.course.domain.measurements import ScoreContext, ScoreSource, cssrs_screening, scale_score
from services.orders.course.translators.observation_score_in import cssrs_from_observation, score_from_observation
from services.orders.course.translators.observation_score_out import observation_from_cssrs, observation_from_score
from services.orders.course.translators.questionnaire_response_in import score_from_questionnaire_response
from shared.errors import FhirMappingError
from shared.scales import DEFINITIONS, CssrsRisk, Scale

from tests.unit.orders.course.builders import COURSE, PATIENT, ehr_phq9, phq9, settings
from shared.people import Person

AT = datetime(2026, 11, 26, 8, 30, tzinfo=timezone.utc)
HIGH = {"wish-to-be-dead": True, "suicidal-thoughts": True, "ideation-with-method": True,
        "ideation-with-intent": True, "ideation-with-plan-and-intent": False, "suicidal-behaviour-lifetime": False}


def test_a_phq9_observation_has_the_survey_shape():
    resource = observation_from_score(phq9("m-1", 14, AT, ScoreContext.PRE_INFUSION, item9=1, session_id="s-2"),
                                      PATIENT, COURSE)
    assert resource["identifier"][0]["value"] == "m-1" and resource["status"] == "final"
    assert [c["coding"][0]["code"] for c in resource["category"]] == ["survey", "score-context-pre-infusion"]
    assert resource["code"]["coding"][0] == {"system": "http://loinc.org", "code": "44261-6", "display":
                                             "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"}
    assert resource["valueQuantity"] == {"value": 14, "unit": "{score}", "system": "http://unitsofmeasure.org",
                                         "code": "{score}"}
    assert resource["derivedFrom"] == [{"type": "QuestionnaireResponse", "identifier": {
        "system": "https://ketalink.example.org/fhir/identifier/course-questionnaire-response", "value": "m-1"}}]
    assert resource["performer"] == [{"reference": f"Patient/{PATIENT}"}]
    assert resource["method"]["coding"][0]["code"] == "score-source-patient-link"
    assert len(resource["component"]) == 9 and resource["component"][8]["valueInteger"] == 1
    assert resource["encounter"]["identifier"]["value"] == "s-2"


@pytest.mark.parametrize("scale, items, code, text", [
    (Scale.PHQ9, [3, 3, 2, 2, 2, 2, 2, 1, 0], "phq-9-severity-moderately-severe", "moderately severe (PHQ-9 15-19)"),
    (Scale.PHQ9, [1, 1, 1, 1, 0, 0, 0, 0, 0], "phq-9-severity-minimal", "minimal (PHQ-9 0-4)"),
    (Scale.GAD7, [3, 3, 3, 3, 3, 0, 0], "gad-7-severity-severe", "severe (GAD-7 15-21)"),
    (Scale.MADRS, [2] * 10, "madrs-severity-moderate", "moderate (MADRS 20-34)"),
])
def test_a_score_observation_carries_its_severity_band_as_a_local_interpretation(scale, items, code, text):
    resource = observation_from_score(scale_score("m-1", scale, items, AT, ScoreSource.CLINICIAN,
                                                  ScoreContext.FOLLOW_UP), PATIENT, COURSE)
    [interpretation] = resource["interpretation"]
    [coding] = interpretation["coding"]
    assert (coding["system"], coding["code"]) == ("https://ketalink.example.org/fhir/CodeSystem/ketalink", code)
    assert interpretation["text"] == text
    assert coding["display"].startswith(f"{DEFINITIONS[scale].name} severity: {text.split(' (')[0]} (")
    assert "terminology.hl7.org" not in str(resource["interpretation"])  # not HL7 v3 H/L codes
    assert score_from_observation(resource).score.total_score == sum(items)  # still reads back


def test_a_qids_sr16_observation_has_no_band():
    resource = observation_from_score(scale_score("m-1", Scale.QIDS_SR16, [1] * 16, AT, ScoreSource.CLINICIAN,
                                                  ScoreContext.FOLLOW_UP), PATIENT, COURSE)
    assert "interpretation" not in resource


def test_gad7_uses_its_loinc_total_and_an_ehr_score_points_at_the_ehrs_response():
    gad7 = scale_score("g", Scale.GAD7, [1] * 7, AT, ScoreSource.PATIENT_LINK, ScoreContext.FOLLOW_UP)
    assert observation_from_score(gad7, PATIENT, COURSE)["code"]["coding"][0]["code"] == "70274-6"
    from_ehr = score_from_questionnaire_response(ehr_phq9()).score
    resource = observation_from_score(from_ehr, PATIENT, COURSE)
    assert resource["derivedFrom"] == [{"reference": "QuestionnaireResponse/qr-ehr-55"}]
    assert score_from_observation(resource).score == from_ehr


@pytest.mark.parametrize("score", [
    phq9("m-1", 14, AT, ScoreContext.PRE_INFUSION, item9=1, session_id="s-2"),
    replace(phq9("m-2", 4, AT, ScoreContext.FOLLOW_UP, source=ScoreSource.CLINICIAN, recorded_by=Person("Practitioner/dr-a", "Dr A")),
            rescored=True),
    scale_score("mad", Scale.MADRS, [4, 4, 3, 3, 2, 3, 3, 4, 3, 1], AT, ScoreSource.CLINICIAN,
                ScoreContext.BASELINE, recorded_by=Person("Practitioner/dr-rater", "Dr Rater")),
    scale_score("q", Scale.QIDS_SR16, [1, 3, 0, 2, 2, 0, 2, 1, 3, 1, 2, 3, 1, 2, 1, 2], AT,
                ScoreSource.PATIENT_LINK, ScoreContext.FOLLOW_UP),
], ids=["phq9", "phq9-rescored", "madrs", "qids"])
def test_scores_round_trip(score):
    resource = observation_from_score(score, PATIENT, COURSE)
    assert resource["status"] == ("amended" if score.rescored else "final")
    received = score_from_observation(resource)
    assert (received.patient_id, received.course_id, received.score) == (PATIENT, COURSE, score)


def test_cssrs_round_trips_with_its_risk():
    screening = cssrs_screening("c-1", HIGH, AT, ScoreSource.CLINICIAN, ScoreContext.PRE_INFUSION, settings(),
                                recorded_by=Person("Practitioner/nurse-kim", "Nurse Kim"))
    resource = observation_from_cssrs(screening, PATIENT, COURSE)
    assert resource["code"]["coding"][0]["code"] == "93374-7"
    assert resource["valueCodeableConcept"]["coding"][0]["code"] == "cssrs-risk-high"
    assert [c["valueBoolean"] for c in resource["component"]] == [True, True, True, True, False, False]
    assert cssrs_from_observation(resource, settings()).screening == screening


def test_a_risk_the_clinics_rule_does_not_give_is_refused():
    moderate = {**HIGH, "ideation-with-intent": False}  # method only: moderate by Columbia's triage
    screening = cssrs_screening("c-1", moderate, AT, ScoreSource.CLINICIAN, ScoreContext.PRE_INFUSION, settings())
    resource = observation_from_cssrs(screening, PATIENT, COURSE)
    stricter = settings(cssrs_high_risk_items=("ideation-with-method", "ideation-with-intent",
                                               "ideation-with-plan-and-intent", "suicidal-behaviour-past-3-months"),
                        cssrs_moderate_risk_items=("suicidal-behaviour-lifetime",))
    with pytest.raises(FhirMappingError, match="risk moderate disagrees") as error:
        cssrs_from_observation(resource, stricter)
    assert error.value.field == "Observation.valueCodeableConcept"


def test_a_total_that_disagrees_with_the_items_is_refused():
    resource = observation_from_score(phq9("m", 10, AT), PATIENT, COURSE)
    resource["valueQuantity"]["value"] = 11
    with pytest.raises(FhirMappingError, match="total 11 disagrees") as error:
        score_from_observation(resource)
    assert error.value.field == "Observation.valueQuantity"


def test_an_observation_without_its_items_cannot_be_scored():
    resource = observation_from_score(phq9("m", 10, AT), PATIENT, COURSE)
    del resource["component"]
    with pytest.raises(FhirMappingError, match="item 1 is required") as error:
        score_from_observation(resource)
    assert error.value.field == "Observation.component[44250-9]"


@pytest.mark.parametrize("change, field", [
    (lambda r: r.update(status="preliminary"), "Observation.status"),
    (lambda r: r.pop("identifier"), "Observation.identifier"),
    (lambda r: r.pop("derivedFrom"), "Observation.derivedFrom"),
    (lambda r: r.update(method={"text": "phone"}), "Observation.method"),
    (lambda r: r.update(code={"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}), "Observation.code"),
])
def test_what_cannot_be_read(change, field):
    resource = copy.deepcopy(observation_from_score(phq9("m", 10, AT), PATIENT, COURSE))
    change(resource)
    with pytest.raises(FhirMappingError) as error:
        score_from_observation(resource)
    assert error.value.field == field


def test_no_cssrs_risk_means_none():
    calm = {"wish-to-be-dead": False, "suicidal-thoughts": False, "suicidal-behaviour-lifetime": False}
    screening = cssrs_screening("c-2", calm, AT, ScoreSource.PATIENT_LINK, ScoreContext.FOLLOW_UP, settings())
    assert cssrs_from_observation(observation_from_cssrs(screening, PATIENT, COURSE),
                                  settings()).screening.risk is CssrsRisk.NONE
