import dataclasses

from services.intake.domain.contraindications import ContraindicationAnswer, Presence
from services.intake.domain.recording import record_contraindications, record_trials, start_intake
from services.intake.translators.questionnaire_response_screening_out import screening_questionnaire_response
from shared.fhir.codes import KETALINK_LOCAL

from .builders import T0, VENLAFAXINE_FAILED, eligible_intake
from tests.unit.intake.builders import ADA


def test_screen_answers_with_notes_and_trials_are_items(settings):
    answers = [ContraindicationAnswer("uncontrolled-hypertension", Presence.PRESENT, "150/95 twice"),
               ContraindicationAnswer("ketamine-hypersensitivity", Presence.ABSENT)]
    intake = record_contraindications(eligible_intake(settings), answers, T0, ADA, settings)
    intake = record_trials(intake, [dataclasses.replace(VENLAFAXINE_FAILED, dose_text=None)])
    response = screening_questionnaire_response(intake, "pat-123")
    screen, trials = response["item"]
    assert screen["item"][0] == {
        "linkId": "uncontrolled-hypertension", "text": "Uncontrolled hypertension",
        "answer": [{"valueCoding": {"system": KETALINK_LOCAL, "code": "screen-present", "display": "Present"},
                    "item": [{"linkId": "uncontrolled-hypertension-note", "text": "Note",
                              "answer": [{"valueString": "150/95 twice"}]}]}],
    }
    assert screen["item"][1]["answer"][0]["valueCoding"]["code"] == "screen-absent"
    assert [(i["linkId"], list(i["answer"][0].values())[0]) for i in trials["item"][0]["item"]] == [
        ("trial-1-drug", "venlafaxine XR"), ("trial-1-duration-weeks", 10), ("trial-1-adequate-dose", True),
        ("trial-1-improvement-pct", 30), ("trial-1-current-episode", True)]
    assert response["author"] == ADA.fhir_reference()
    assert response["identifier"]["value"] == "intake-0001-screening"


def test_nothing_screened_gives_no_response():
    assert screening_questionnaire_response(start_intake("i", "p", T0), "p") is None


def test_trials_recorded_as_none_without_a_screen_gives_a_response_without_items():
    intake = record_trials(start_intake("i", "p", T0), [])
    response = screening_questionnaire_response(intake, "p")
    assert "item" not in response and response["authored"] == "2026-03-02T09:30:00+00:00"
