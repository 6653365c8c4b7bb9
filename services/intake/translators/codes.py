"""Codes the intake translators need that shared/fhir/codes.py does not hold (local concepts, LOINC items and
answers for the scales, identifier kinds). Standard codes cite their source; local ones use KETALINK_LOCAL."""
from __future__ import annotations

from services.intake.domain.consent import consent_element_label
from services.intake.domain.contraindications import contraindication_label
from services.intake.domain.decision import EligibilityOutcome
from services.intake.domain.contraindications import Presence
from shared.fhir.codes import CONSENT_CATEGORY_LOINC, CONSENT_SCOPE, KETALINK_LOCAL, Code
from shared.fhir.instrument_codes import (  # noqa: F401 - re-exported for the intake translators
    CSSRS_ITEMS, CSSRS_QUESTIONNAIRE, CSSRS_RISK_LOCAL, CSSRS_RISK_LOINC, LOINC_NO, LOINC_YES, QUESTIONNAIRES,
    SCALE_ITEMS,
)
from shared.scales import Scale

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


def consent_element_code(key: str) -> Code:
    """A consent element explained and acknowledged (a nested Consent provision), e.g. ``consent-element-nausea``."""
    return Code(KETALINK_LOCAL, f"consent-element-{key}", consent_element_label(key))


def contraindication_code(key: str) -> Code:
    return Code(KETALINK_LOCAL, f"contraindication-{key}", contraindication_label(key))


SCREEN_PRESENCE: dict[Presence, Code] = {
    Presence.PRESENT: Code(KETALINK_LOCAL, "screen-present", "Present"),
    Presence.ABSENT: Code(KETALINK_LOCAL, "screen-absent", "Absent"),
    Presence.UNKNOWN: Code(KETALINK_LOCAL, "screen-unknown", "Unknown"),
    Presence.NOT_APPLICABLE: Code(KETALINK_LOCAL, "screen-not-applicable", "Not applicable (sex or age)"),
}

# Questionnaire canonicals, item and answer codes of the scales: shared with the treatment course, which reads the
# intake's QuestionnaireResponses as its baseline (shared/fhir/instrument_codes.py).
PHQ9_QUESTIONNAIRE = QUESTIONNAIRES[Scale.PHQ9]
MADRS_QUESTIONNAIRE = QUESTIONNAIRES[Scale.MADRS]
SCREENING_QUESTIONNAIRE = f"{KETALINK_BASE}/Questionnaire/ketamine-intake-screening"
PHQ9_ITEMS: tuple[Code, ...] = SCALE_ITEMS[Scale.PHQ9]
MADRS_ITEMS: tuple[Code, ...] = SCALE_ITEMS[Scale.MADRS]
