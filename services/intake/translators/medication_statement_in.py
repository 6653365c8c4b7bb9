"""FHIR MedicationStatement → MedicationEntry (drug name, RxNorm code, dose text, period as dates).

Weeks on a drug come from the period (``MedicationEntry.duration_weeks``); ``trials.prior_trial_candidates``
turns the antidepressants among them into trial candidates for the clinician to confirm.
"""
from __future__ import annotations

from services.intake.domain.medications import MedicationEntry
from services.intake.translators.common import FhirJson, day_or_none, first_coding, validated
from shared.errors import FhirMappingError
from shared.fhir.codes import RXNORM


def medication_entry_from_fhir(statement: FhirJson) -> MedicationEntry:
    validated(statement, "MedicationStatement")
    concept = statement.get("medicationCodeableConcept")
    if concept is None:
        raise FhirMappingError(
            "MedicationStatement.medicationReference", "only medicationCodeableConcept is supported"
        )
    rxnorm = first_coding(concept, RXNORM)
    drug_name = concept.get("text") or (rxnorm or {}).get("display") or next(
        (c.get("display") for c in concept.get("coding", []) if c.get("display")), None
    )
    if not drug_name:
        raise FhirMappingError("MedicationStatement.medicationCodeableConcept", "a drug name (text or display) is "
                                                                              "required to screen it")
    period = statement.get("effectivePeriod") or {}
    started = period.get("start") or statement.get("effectiveDateTime")
    return MedicationEntry(
        drug_name=drug_name,
        status=statement["status"],
        rxnorm_code=(rxnorm or {}).get("code"),
        dose_text=_dose_text(statement.get("dosage") or []),
        started_on=day_or_none(started, "MedicationStatement.effectivePeriod.start"),
        ended_on=day_or_none(period.get("end"), "MedicationStatement.effectivePeriod.end"),
        ehr_medication_statement_id=statement.get("id"),
        codings=tuple(f"{c['system']}|{c['code']}" for c in concept.get("coding", [])
                      if c.get("system") and c.get("code"))[:20],
    )


def _dose_text(dosages: list[FhirJson]) -> str | None:
    if not dosages:
        return None
    dosage = dosages[0]
    if dosage.get("text"):
        return dosage["text"]
    dose = ((dosage.get("doseAndRate") or [{}])[0]).get("doseQuantity") or {}
    if dose.get("value") is None:
        return None
    return f"{dose['value']:g} {dose.get('unit') or dose.get('code') or ''}".strip()
