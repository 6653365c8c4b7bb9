"""Issue 13 defect 18 (intake part): "not applicable" for the pregnancy item comes from the patient's record (sex,
age; the clinic's age range), so it is refused for a patient of child-bearing potential."""
import pytest

from services.intake.domain.contraindications import PREGNANCY_OR_BREASTFEEDING, Presence
from services.intake.domain.decision import EligibilityOutcome
from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.errors import IntakeInputError
from services.intake.domain.patient import AdministrativeSex, PatientSummary
from services.intake.domain.pregnancy import childbearing_potential
from services.intake.domain.recording import record_contraindications, record_patient
from services.intake.domain.settings import IntakeSettings
from services.intake.translators.questionnaire_response_screening_out import screening_questionnaire_response

from .builders import DECIDED_AT, PATIENT_ID, T0, eligible_intake, screen_answers
from tests.unit.intake.builders import ADA


def patient(sex: AdministrativeSex, age: int | None) -> PatientSummary:
    return PatientSummary(PATIENT_ID, age, sex, None)


@pytest.mark.parametrize("sex, age, expected", [
    (AdministrativeSex.FEMALE, 34, True),
    (AdministrativeSex.FEMALE, None, True),
    (AdministrativeSex.FEMALE, 62, False),
    (AdministrativeSex.FEMALE, 8, False),
    (AdministrativeSex.MALE, 34, False),
    (AdministrativeSex.OTHER, 34, True),
    (AdministrativeSex.UNKNOWN, 34, True),
])
def test_childbearing_potential_from_sex_and_age(settings, sex, age, expected):
    assert childbearing_potential(patient(sex, age), settings) is expected


def test_unknown_patient_keeps_pregnancy_applicable(settings):
    assert childbearing_potential(None, settings) is True


def with_pregnancy_not_applicable(intake, settings):
    return record_contraindications(
        intake, screen_answers(settings, pregnancy_or_breastfeeding=Presence.NOT_APPLICABLE), T0, ADA, settings)


def test_not_applicable_is_refused_for_a_woman_of_childbearing_age(settings):
    intake = record_patient(eligible_intake(settings), patient(AdministrativeSex.FEMALE, 34), settings)
    with pytest.raises(IntakeInputError) as error:
        with_pregnancy_not_applicable(intake, settings)
    row = (settings.absolute_contraindications + settings.relative_contraindications).index(PREGNANCY_OR_BREASTFEEDING)
    assert error.value.field == f"contraindications.answers[{row}].presence"
    assert "sex female, age 34" in error.value.message


def test_not_applicable_is_refused_without_a_patient_record(settings):
    with pytest.raises(IntakeInputError):
        with_pregnancy_not_applicable(eligible_intake(settings), settings)


def test_not_applicable_is_accepted_for_a_man_and_reads_as_absent(settings):
    intake = record_patient(eligible_intake(settings), patient(AdministrativeSex.MALE, 40), settings)
    intake = with_pregnancy_not_applicable(intake, settings)
    decided = decide_eligibility(intake, settings, DECIDED_AT)
    assert decided.decision.outcome is EligibilityOutcome.ELIGIBLE
    screening = screening_questionnaire_response(decided, PATIENT_ID)
    answer = next(i for i in screening["item"][0]["item"] if i["linkId"] == PREGNANCY_OR_BREASTFEEDING)
    assert answer["answer"][0]["valueCoding"]["code"] == "screen-not-applicable"


def test_the_age_range_is_a_setting():
    settings = IntakeSettings(childbearing_age_range_years=(10.0, 65.0))
    assert childbearing_potential(patient(AdministrativeSex.FEMALE, 62), settings) is True


def test_not_applicable_is_only_for_sex_and_age_dependent_items(settings):
    intake = record_patient(eligible_intake(settings), patient(AdministrativeSex.MALE, 40), settings)
    with pytest.raises(IntakeInputError):
        record_contraindications(intake, screen_answers(settings, active_psychosis=Presence.NOT_APPLICABLE), T0,
                                 ADA, settings)



def test_not_applicable_that_the_patients_record_no_longer_supports_holds_the_decision(settings):
    """Reviewer R3: the rule was applied only when the screen was recorded; the EHR's record read again afterwards
    (sex corrected to female, 34) left "not applicable" standing and the decision read it as absent."""
    intake = record_patient(eligible_intake(settings), patient(AdministrativeSex.MALE, 40), settings)
    intake = with_pregnancy_not_applicable(intake, settings)
    intake = record_patient(intake, patient(AdministrativeSex.FEMALE, 34), settings)
    decision = decide_eligibility(intake, settings, DECIDED_AT).decision
    assert decision.outcome is EligibilityOutcome.NEEDS_REVIEW
    assert "no longer holds" in decision.rationale and "sex female, age 34" in decision.rationale
    wider = IntakeSettings(childbearing_age_range_years=(10.0, 65.0))  # the clinic widened the range since
    older = record_patient(with_pregnancy_not_applicable(
        record_patient(eligible_intake(settings), patient(AdministrativeSex.FEMALE, 60), settings), settings),
        patient(AdministrativeSex.FEMALE, 60), settings)
    assert decide_eligibility(older, wider, DECIDED_AT).decision.outcome is EligibilityOutcome.NEEDS_REVIEW
