"""Code systems and codes the documentation translators need that shared/fhir/codes.py does not have.

HL7 terminology systems are the published R4 ones; Ketalink-local codes use ``KETALINK_LOCAL`` (no standard code
was verified for these concepts, see shared/CLINICAL.md)."""

from __future__ import annotations

from services.documentation.domain.adverse_events import AdverseEventKind
from shared.fhir.codes import (
    DOCUMENT_CATEGORY_US_CORE,
    KETALINK_LOCAL,
    PROVENANCE_PARTICIPANT_TYPE,
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


CLINICAL_NOTE_CATEGORY = Code(DOCUMENT_CATEGORY_US_CORE, "clinical-note", "Clinical Note")
AUTHOR_PARTICIPANT = Code(PROVENANCE_PARTICIPANT_TYPE, "author", "Author")
