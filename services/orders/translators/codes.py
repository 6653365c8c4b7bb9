"""Codes, units and identifier kinds the orders translators use that shared/fhir/codes.py does not hold.

The dose-rate-type code system is FHIR's own (terminology.hl7.org); the eligibility codes are Ketalink's local ones
named in docs/contracts.md (``ketalink-local#…``)."""
from __future__ import annotations

from shared.fhir.codes import KETALINK_LOCAL, Code

DOSE_RATE_TYPE = "http://terminology.hl7.org/CodeSystem/dose-rate-type"
DOSE_ORDERED = Code(DOSE_RATE_TYPE, "ordered", "Ordered")
DOSE_CALCULATED = Code(DOSE_RATE_TYPE, "calculated", "Calculated")

KETAMINE_ELIGIBILITY = Code(KETALINK_LOCAL, "ketamine-eligibility", "Eligibility for IV ketamine treatment")
ELIGIBILITY_OUTCOME_CODES = ("eligible", "not-eligible", "needs-review")

CATEGORY_TEXT_INDUCTION = "ketamine-induction"
CATEGORY_TEXT_MAINTENANCE = "ketamine-maintenance"
CAREPLAN_ACTIVITY_KIND = "MedicationRequest"

# UCUM codes.
UNIT_MG = "mg"
UNIT_MG_PER_KG = "mg/kg"
UNIT_ML_PER_H = "mL/h"
UNIT_MIN = "min"
UNIT_HOUR = "h"

# Identifier kinds (``shared.fhir.datatypes.identifier(kind, value)``); the order's and the series' are
# ``shared.fhir.codes.KIND_ORDER`` / ``KIND_SERIES``.
KIND_ELIGIBILITY = "eligibility"
KIND_CONSENT = "consent"
