"""Code systems and codes the services use, in one place (sources in ../shared/CLINICAL.md and README).

Names say what a code means; translators import these instead of repeating literals.
"""
from __future__ import annotations

from dataclasses import dataclass

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
DOCUMENT_CATEGORY_US_CORE = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_CATEGORY_LOINC = LOINC
PROVENANCE_PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
MESSAGE_EVENTS = "https://ketalink.example.org/fhir/CodeSystem/message-events"

# Ketalink's local code system for concepts with no standard code (MADRS, CADSS, TRD, eligibility...).
KETALINK_LOCAL = "https://ketalink.example.org/fhir/CodeSystem/ketalink"
# Identifier systems: every resource Ketalink sends carries one, so the EHR write is idempotent.
IDENTIFIER_BASE = "https://ketalink.example.org/fhir/identifier"


# Identifier kinds of the orders' resources that other services reference (docs/contracts.md): the
# MedicationRequest (value: order id) and the series CarePlan (value: series id).
KIND_ORDER = "order"
KIND_SERIES = "series"


def identifier_system(kind: str) -> str:
    """The identifier system for one kind of Ketalink record, e.g. ``identifier_system("order")``."""
    return f"{IDENTIFIER_BASE}/{kind}"


@dataclass(frozen=True)
class Code:
    """One coded concept: system, code, display, and where it is a measurement its UCUM unit and that unit as people
    read it (``Quantity.unit``; the UCUM code when not given)."""

    system: str
    code: str
    display: str
    unit: str | None = None
    unit_display: str | None = None


# Categories.
VITAL_SIGNS_CATEGORY = Code(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")
SURVEY_CATEGORY = Code(OBSERVATION_CATEGORY, "survey", "Survey")
CLINICAL_FLAG_CATEGORY = Code(FLAG_CATEGORY, "clinical", "Clinical")

# Vital signs (US Core): BP is one panel with two components.
BP_PANEL = Code(LOINC, "85354-9", "Blood pressure panel with all children optional")
BP_SYSTOLIC = Code(LOINC, "8480-6", "Systolic blood pressure", "mm[Hg]", "mmHg")
BP_DIASTOLIC = Code(LOINC, "8462-4", "Diastolic blood pressure", "mm[Hg]", "mmHg")
HEART_RATE = Code(LOINC, "8867-4", "Heart rate", "/min", "beats/minute")
RESPIRATORY_RATE = Code(LOINC, "9279-1", "Respiratory rate", "/min", "breaths/minute")
SPO2 = Code(LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%")
SPO2_ARTERIAL = Code(LOINC, "2708-6", "Oxygen saturation in Arterial blood", "%")
BODY_WEIGHT = Code(LOINC, "29463-7", "Body weight", "kg")
BODY_HEIGHT = Code(LOINC, "8302-2", "Body height", "cm")

# Scales.
PHQ9_TOTAL = Code(LOINC, "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]", "{score}")
GAD7_TOTAL = Code(LOINC, "70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]", "{score}")
CSSRS_RISK = Code(LOINC, "93374-7", "C-SSRS screener risk")
MADRS_TOTAL = Code(KETALINK_LOCAL, "madrs-total", "Montgomery-Asberg Depression Rating Scale total score", "{score}")
CADSS_TOTAL = Code(KETALINK_LOCAL, "cadss-total", "Clinician-Administered Dissociative States Scale total score", "{score}")
CADSS6_TOTAL = Code(KETALINK_LOCAL, "cadss6-total", "CADSS 6-item short form total score", "{score}")

# Conditions and the procedure.
MAJOR_DEPRESSIVE_DISORDER = Code(SNOMED, "370143000", "Major depressive disorder")
TREATMENT_RESISTANT_DEPRESSION = Code(KETALINK_LOCAL, "trd", "Treatment-resistant depression")
PROCEDURE_NOTE = Code(LOINC, "28570-0", "Procedure note")
KETAMINE_INFUSION_PROCEDURE = Code(KETALINK_LOCAL, "ketamine-infusion", "Intravenous ketamine infusion")

# Medication and route.
# The only RxNorm product code verified for its strength (openFDA NDC); other strengths are coded by ingredient and
# ``Medication.ingredient.strength`` (shared/fhir/medication.py). The ingredient's RxNorm code (6130) is unverified,
# so the ingredient carries a local code with the text "ketamine".
KETAMINE_100MG_PER_ML_INJECTION = Code(RXNORM, "238083", "ketamine 100 MG/ML Injectable Solution")
KETAMINE_INGREDIENT = Code(KETALINK_LOCAL, "ketamine", "ketamine")
ROUTE_INTRAVENOUS = Code(SNOMED, "47625008", "Intravenous route")
