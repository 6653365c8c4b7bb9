"""Code systems and codes the documentation translators need that shared/fhir/codes.py does not have.

HL7 terminology systems are the published R4 ones; Ketalink-local codes use ``KETALINK_LOCAL`` (no standard code
was verified for these concepts, see shared/CLINICAL.md)."""

from __future__ import annotations

from services.documentation.domain.adverse_events import AdverseEventKind
from services.documentation.domain.flowsheet import AlertActionKind
from services.documentation.domain.follow_up import FollowUpOutcome
from services.documentation.domain.rescue import RescueRoute
from shared.fhir.codes import (
    DOCUMENT_CATEGORY_US_CORE,
    KETALINK_LOCAL,
    PROVENANCE_PARTICIPANT_TYPE,
    ROUTE_INTRAVENOUS,
    SNOMED,
    Code,
)

ADVERSE_EVENT_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
ADVERSE_EVENT_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
ADVERSE_EVENT_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SIGNATURE_TYPE = "urn:iso-astm:E1762-95:2013"

ENCOUNTER_CLASS_AMBULATORY = Code(V3_ACT_CODE, "AMB", "ambulatory")
AUTHORS_SIGNATURE = Code(SIGNATURE_TYPE, "1.2.840.10065.1.12.1.1", "Author's Signature")
SERIOUS = Code(ADVERSE_EVENT_SERIOUSNESS, "serious", "Serious")
NON_SERIOUS = Code(ADVERSE_EVENT_SERIOUSNESS, "non-serious", "Non-serious")

VITAL_SIGN_ALERT = Code(KETALINK_LOCAL, "vital-sign-alert", "Vital sign crossed an infusion alert threshold")

ADVERSE_EVENT_KIND_CODES = {
    AdverseEventKind.NAUSEA: Code(KETALINK_LOCAL, "ae-nausea", "Nausea"),
    AdverseEventKind.DIZZINESS: Code(KETALINK_LOCAL, "ae-dizziness", "Dizziness"),
    AdverseEventKind.HEADACHE: Code(KETALINK_LOCAL, "ae-headache", "Headache"),
    AdverseEventKind.ANXIETY: Code(KETALINK_LOCAL, "ae-anxiety", "Anxiety"),
    AdverseEventKind.EMERGENCE_REACTION: Code(KETALINK_LOCAL, "ae-emergence-reaction", "Emergence reaction"),
    AdverseEventKind.HYPERTENSION: Code(KETALINK_LOCAL, "ae-hypertension", "Hypertension during infusion"),
    AdverseEventKind.OTHER: Code(KETALINK_LOCAL, "ae-other", "Other adverse event"),
}


def cadss_item(number: int) -> Code:
    """The local code of one CADSS item (1-23), used for the item components of the total Observation."""
    return Code(KETALINK_LOCAL, f"cadss-item-{number}", f"CADSS item {number}", "{score}")


# Alert actions (issue 13, "rescue actions coded"): no standard code system names these; local codes.
ALERT_ACTION_CODES = {
    AlertActionKind.RATE_REDUCED: Code(KETALINK_LOCAL, "alert-action-rate-reduced", "Infusion rate reduced"),
    AlertActionKind.PAUSED: Code(KETALINK_LOCAL, "alert-action-paused", "Infusion paused"),
    AlertActionKind.STOPPED: Code(KETALINK_LOCAL, "alert-action-stopped", "Infusion stopped"),
    AlertActionKind.MEDICATION_GIVEN: Code(KETALINK_LOCAL, "alert-action-medication-given", "Rescue medication given"),
    AlertActionKind.OBSERVED: Code(KETALINK_LOCAL, "alert-action-observed", "Observed, no intervention"),
    AlertActionKind.OTHER: Code(KETALINK_LOCAL, "alert-action-other", "Other action"),
}
# Extensions Ketalink defines (R4 has no element for these).
EXTENSION_BASE = "https://ketalink.example.org/fhir/StructureDefinition"
ALERT_ACTION_EXTENSION = f"{EXTENSION_BASE}/alert-action"  # Flag: the coded action that closed the alert
PRESCRIBER_ATTESTATION_EXTENSION = f"{EXTENSION_BASE}/prescriber-attestation"  # Provenance.signature: what was attested
CONTROLLED_SUBSTANCE_EXTENSION = f"{EXTENSION_BASE}/controlled-substance-accounting"  # MedicationAdministration

# Rescue medication routes (SNOMED CT route of administration values; oral checked against FHIR's route-codes
# value set expansion, IM and SL as used alike by several public FHIR implementations: verify with the terminology).
RESCUE_ROUTE_CODES = {
    RescueRoute.INTRAVENOUS: ROUTE_INTRAVENOUS,
    RescueRoute.ORAL: Code(SNOMED, "26643006", "Oral route"),
    RescueRoute.INTRAMUSCULAR: Code(SNOMED, "78421000", "Intramuscular route"),
    RescueRoute.SUBLINGUAL: Code(SNOMED, "37839007", "Sublingual route"),
}

# Controlled-substance waste witness: HL7 v3 ParticipationType WIT (Provenance.agent.type is extensible).
V3_PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
WITNESS_PARTICIPANT = Code(V3_PARTICIPATION_TYPE, "WIT", "witness")
PERFORMER_PARTICIPANT = Code(PROVENANCE_PARTICIPANT_TYPE, "performer", "Performer")

# The next-day follow-up call (Task.code) and its outcomes (Task.output).
FOLLOW_UP_CALL = Code(KETALINK_LOCAL, "post-infusion-follow-up-call", "Next-day call after a ketamine infusion")
FOLLOW_UP_OUTCOME_TYPE = Code(KETALINK_LOCAL, "follow-up-call-outcome", "Follow-up call outcome")
FOLLOW_UP_OUTCOME_CODES = {
    FollowUpOutcome.REACHED_WELL: Code(KETALINK_LOCAL, "follow-up-reached-well", "Reached, no concerns"),
    FollowUpOutcome.REACHED_CONCERNS: Code(KETALINK_LOCAL, "follow-up-reached-concerns",
                                           "Reached, concerns raised and acted on"),
    FollowUpOutcome.NOT_REACHED: Code(KETALINK_LOCAL, "follow-up-not-reached", "Not reached"),
}

CLINICAL_NOTE_CATEGORY = Code(DOCUMENT_CATEGORY_US_CORE, "clinical-note", "Clinical Note")
AUTHOR_PARTICIPANT = Code(PROVENANCE_PARTICIPANT_TYPE, "author", "Author")

# The treatment course's suicidality alert (DetectedIssue on ketalink.orders.events, docs/contracts.md): the course
# writes these (services/orders/course/translators/codes.py); documentation reads them (issue 13 defect 5).
# tests/unit/documentation/test_suicide_risk.py checks they stay the course's.
KIND_SUICIDALITY_ALERT = "course-suicidality-alert"
SUICIDALITY_RISK = Code(KETALINK_LOCAL, "suicidality-risk", "Suicidality risk for prescriber review")
PRESCRIBER_REVIEWED = Code(KETALINK_LOCAL, "prescriber-reviewed", "Reviewed by the prescriber")
# RASS (Sessler 2002): no LOINC code was verified for it, so a local code (CLINICAL.md's rule for such scales).
RASS = Code(KETALINK_LOCAL, "rass", "Richmond Agitation-Sedation Scale (RASS)", "{score}")
