"""The intake screening → one QuestionnaireResponse: the contraindication screen (an item per answered key with
its presence and note) and the TRD history (a group per prior trial)."""
from __future__ import annotations

from services.intake.domain.contraindications import ContraindicationAnswer, contraindication_label
from services.intake.domain.model import Intake
from services.intake.domain.trials import AntidepressantTrial
from services.intake.translators.codes import QUESTIONNAIRE_RESPONSE_KIND, SCREEN_PRESENCE, SCREENING_QUESTIONNAIRE
from services.intake.translators.common import FhirJson
from services.intake.translators.questionnaire_response_scales_out import questionnaire_response_identifier_value
from shared.fhir.datatypes import coding, identifier, instant, reference
from shared.fhir.validate import validate_resource

SCREENING_NAME = "screening"


def screening_questionnaire_response(intake: Intake, patient_id: str) -> FhirJson | None:
    """None when neither the screen nor the trials were recorded. Authored at the screen's time, else the
    decision's."""
    screen = intake.contraindications
    if screen is None and intake.trials is None:
        return None
    authored = screen.screened_at if screen else (intake.decision.decided_at if intake.decision else intake.started_at)
    items = []
    if screen is not None:
        items.append({"linkId": "contraindications", "text": "Contraindication screen",
                      "item": [_answer_item(answer) for answer in screen.answers]})
    if intake.trials is not None:
        items.append({"linkId": "trials", "text": "Prior antidepressant trials",
                      "item": [_trial_item(number, trial) for number, trial in enumerate(intake.trials, start=1)]})
    resource = {
        "resourceType": "QuestionnaireResponse",
        "identifier": identifier(QUESTIONNAIRE_RESPONSE_KIND,
                                 questionnaire_response_identifier_value(intake.intake_id, SCREENING_NAME)),
        "questionnaire": SCREENING_QUESTIONNAIRE,
        "status": "completed",
        "subject": reference("Patient", patient_id),
        "authored": instant(authored),
    }
    groups = [item for item in items if item["item"]]  # FHIR allows no empty groups
    if groups:
        resource["item"] = groups
    if screen is not None:
        resource["author"] = screen.screened_by.fhir_reference()
    return validate_resource(resource)


def _answer_item(answer: ContraindicationAnswer) -> FhirJson:
    value: FhirJson = {"valueCoding": coding(SCREEN_PRESENCE[answer.presence])}
    if answer.note:
        value["item"] = [{"linkId": f"{answer.key}-note", "text": "Note", "answer": [{"valueString": answer.note}]}]
    return {"linkId": answer.key, "text": contraindication_label(answer.key), "answer": [value]}


def _trial_item(number: int, trial: AntidepressantTrial) -> FhirJson:
    parts: list[tuple[str, str, FhirJson | None]] = [
        ("drug", "Drug", {"valueString": trial.drug_name}),
        ("dose", "Dose", {"valueString": trial.dose_text} if trial.dose_text else None),
        ("duration-weeks", "Duration (weeks)", {"valueDecimal": trial.duration_weeks}),
        ("adequate-dose", "Adequate dose", {"valueBoolean": trial.adequate_dose}),
        ("improvement-pct", "Improvement (%)", {"valueDecimal": trial.improvement_pct}),
        ("current-episode", "In the current episode", {"valueBoolean": trial.current_episode}),
    ]
    return {
        "linkId": f"trial-{number}",
        "text": f"Trial {number}",
        "item": [{"linkId": f"trial-{number}-{key}", "text": text, "answer": [answer]}
                 for key, text, answer in parts if answer is not None],
    }
