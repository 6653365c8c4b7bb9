"""Codes the intake translators need that shared/fhir/codes.py does not hold (local concepts, LOINC items and
answers for the scales, identifier kinds). Standard codes cite their source; local ones use KETALINK_LOCAL."""
from __future__ import annotations

from services.intake.domain.contraindications import contraindication_label
from services.intake.domain.cssrs import CssrsItem, CssrsRisk
from services.intake.domain.decision import EligibilityOutcome
from services.intake.domain.contraindications import Presence
from shared.fhir.codes import CONSENT_CATEGORY_LOINC, CONSENT_SCOPE, KETALINK_LOCAL, LOINC, Code

# Identifier kinds (shared.fhir.datatypes.identifier(kind, value)); values derive from the intake id.
ELIGIBILITY_KIND = "eligibility"  # value: intake id (docs/contracts.md)
CONSENT_KIND = "consent"  # value: intake id (docs/contracts.md)
OBSERVATION_KIND = "intake-observation"  # value: "{intake id}-{measure}"
QUESTIONNAIRE_RESPONSE_KIND = "intake-questionnaire-response"  # value: "{intake id}-{questionnaire}"
CONDITION_KIND = "intake-condition"  # value: "{intake id}-{condition code}"
FLAG_KIND = "intake-flag"  # value: "{intake id}-{contraindication key}"

KETALINK_BASE = "https://ketalink.example.org/fhir"
CONSENT_TEXT_BASE = f"{KETALINK_BASE}/consent-text"  # Consent.policy.uri = "{base}/{consent text version}"

# Eligibility (RiskAssessment).
KETAMINE_ELIGIBILITY = Code(KETALINK_LOCAL, "ketamine-eligibility", "Eligibility for IV ketamine therapy")
ELIGIBILITY_OUTCOMES: dict[EligibilityOutcome, Code] = {
    EligibilityOutcome.ELIGIBLE: Code(KETALINK_LOCAL, "eligible", "Eligible"),
    EligibilityOutcome.NOT_ELIGIBLE: Code(KETALINK_LOCAL, "not-eligible", "Not eligible"),
    EligibilityOutcome.NEEDS_REVIEW: Code(KETALINK_LOCAL, "needs-review", "Needs clinician review"),
}

# Referral (ServiceRequest.code the EHR sends for a ketamine evaluation).
KETAMINE_EVALUATION_REFERRAL = Code(KETALINK_LOCAL, "ketamine-evaluation", "Evaluation for IV ketamine therapy")

# Consent (R4 shape).
CONSENT_SCOPE_TREATMENT = Code(CONSENT_SCOPE, "treatment", "Treatment")
CONSENT_CATEGORY_PATIENT_CONSENT = Code(CONSENT_CATEGORY_LOINC, "59284-0", "Patient Consent")
RIDE_HOME_AGREEMENT = Code(KETALINK_LOCAL, "ride-home-agreement", "Agreement to be taken home by a responsible adult")


def contraindication_code(key: str) -> Code:
    return Code(KETALINK_LOCAL, f"contraindication-{key}", contraindication_label(key))


SCREEN_PRESENCE: dict[Presence, Code] = {
    Presence.PRESENT: Code(KETALINK_LOCAL, "screen-present", "Present"),
    Presence.ABSENT: Code(KETALINK_LOCAL, "screen-absent", "Absent"),
    Presence.UNKNOWN: Code(KETALINK_LOCAL, "screen-unknown", "Unknown"),
}

# Questionnaire canonicals for the QuestionnaireResponses the intake writes.
PHQ9_QUESTIONNAIRE = f"{KETALINK_BASE}/Questionnaire/phq-9"
MADRS_QUESTIONNAIRE = f"{KETALINK_BASE}/Questionnaire/madrs"
CSSRS_QUESTIONNAIRE = f"{KETALINK_BASE}/Questionnaire/cssrs-screener"
SCREENING_QUESTIONNAIRE = f"{KETALINK_BASE}/Questionnaire/ketamine-intake-screening"

# PHQ-9 items (LOINC, as in the US Core PHQ-9 example), in item order.
PHQ9_ITEMS: tuple[Code, ...] = (
    Code(LOINC, "44250-9", "Little interest or pleasure in doing things"),
    Code(LOINC, "44255-8", "Feeling down, depressed, or hopeless"),
    Code(LOINC, "44259-0", "Trouble falling or staying asleep, or sleeping too much"),
    Code(LOINC, "44254-1", "Feeling tired or having little energy"),
    Code(LOINC, "44251-7", "Poor appetite or overeating"),
    Code(LOINC, "44258-2", "Feeling bad about yourself - or that you are a failure or have let yourself or your "
                           "family down"),
    Code(LOINC, "44252-5", "Trouble concentrating on things, such as reading the newspaper or watching television"),
    Code(LOINC, "44253-3", "Moving or speaking so slowly that other people could have noticed, or the opposite"),
    Code(LOINC, "44260-8", "Thoughts that you would be better off dead, or of hurting yourself in some way"),
)

# MADRS items (no LOINC found: local codes), in item order.
MADRS_ITEMS: tuple[Code, ...] = tuple(
    Code(KETALINK_LOCAL, f"madrs-item-{number}", display)
    for number, display in enumerate(
        (
            "Apparent sadness", "Reported sadness", "Inner tension", "Reduced sleep", "Reduced appetite",
            "Concentration difficulties", "Lassitude", "Inability to feel", "Pessimistic thoughts",
            "Suicidal thoughts",
        ),
        start=1,
    )
)

# C-SSRS screener items (LOINC; mapping as in the HL7 US Behavioral Health Profiles C-SSRS example).
CSSRS_ITEMS: dict[CssrsItem, Code] = {
    CssrsItem.WISH_TO_BE_DEAD: Code(LOINC, "93246-7", "Have you wished you were dead or wished you could go to "
                                                      "sleep and not wake up?"),
    CssrsItem.SUICIDAL_THOUGHTS: Code(LOINC, "93247-5", "Have you actually had any thoughts of killing yourself?"),
    CssrsItem.IDEATION_WITH_METHOD: Code(LOINC, "93248-3", "Have you been thinking about how you might do this?"),
    CssrsItem.IDEATION_WITH_INTENT: Code(LOINC, "93249-1", "Have you had these thoughts and had some intention of "
                                                           "acting on them?"),
    CssrsItem.IDEATION_WITH_PLAN_AND_INTENT: Code(LOINC, "93250-9", "Have you started to work out or worked out the "
                                                                    "details of how to kill yourself? Do you intend "
                                                                    "to carry out this plan?"),
    CssrsItem.SUICIDAL_BEHAVIOUR_LIFETIME: Code(LOINC, "93267-3", "Have you ever done anything, started to do "
                                                                  "anything, or prepared to do anything to end your "
                                                                  "life?"),
    CssrsItem.SUICIDAL_BEHAVIOUR_PAST_3_MONTHS: Code(LOINC, "93269-9", "Was this within the past 3 months?"),
}
LOINC_YES = Code(LOINC, "LA33-6", "Yes")
LOINC_NO = Code(LOINC, "LA32-8", "No")

# C-SSRS risk value: a local code for every level, plus the LOINC answer (list LL465-6) where one exists.
# LA9194-7 "Low" is in the HL7 BHP example; LA6751-7 "Moderate" and LA9193-9 "High" come from third-party
# ConceptMaps and are unverified against LOINC itself.
CSSRS_RISK_LOCAL: dict[CssrsRisk, Code] = {
    risk: Code(KETALINK_LOCAL, f"cssrs-risk-{risk.value}", f"C-SSRS risk: {risk.value}") for risk in CssrsRisk
}
CSSRS_RISK_LOINC: dict[CssrsRisk, Code] = {
    CssrsRisk.LOW: Code(LOINC, "LA9194-7", "Low"),
    CssrsRisk.MODERATE: Code(LOINC, "LA6751-7", "Moderate"),
    CssrsRisk.HIGH: Code(LOINC, "LA9193-9", "High"),
}
