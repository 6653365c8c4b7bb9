"""Medications that interact with ketamine, checked when an order is entered: the patient may have started one after
the intake screened the medication list. The drug classes and the matching rule are ``shared/drug_classes.py``
(the intake's screen uses the same); the lists are clinic settings (``ProtocolSettings.interacting_drug_*``)."""
from __future__ import annotations

from dataclasses import dataclass

from shared.drug_classes import drug_class_flags, parse_class_codes, parse_class_terms
from shared.records import JsonRecord
from services.orders.domain.errors import Violation
from services.orders.domain.settings import ProtocolSettings


@dataclass(frozen=True)
class CurrentMedication(JsonRecord):
    """A medication the patient takes now, as the EHR names and codes it (codings as ``system|code``)."""

    name: str
    codings: tuple[str, ...] = ()
    ehr_id: str | None = None


INTERACTING = "interacting_medication"
BLOCKING = "interacting_medication_blocking"


def interacting_medication_violations(medications: tuple[CurrentMedication, ...],
                                      settings: ProtocolSettings) -> list[Violation]:
    """One reason per medication and interacting class it matches; field ``BLOCKING`` for the clinic's blocking
    classes (ketamine is not ordered with them), ``INTERACTING`` for the others (a prescriber reviews them)."""
    terms = parse_class_terms(settings.interacting_drug_terms)
    codes = parse_class_codes(settings.interacting_drug_codes)
    violations = []
    for medication in medications:
        for flag in drug_class_flags(medication.name, medication.codings, terms, codes):
            if flag.drug_class in settings.blocking_interacting_drug_classes:
                violations.append(Violation(BLOCKING, f"{flag.drug_name} ({flag.drug_class}, matched "
                                                      f"{flag.matched_term}): the clinic does not order ketamine "
                                                      "with this class"))
            else:
                violations.append(Violation(INTERACTING, f"{flag.drug_name} ({flag.drug_class}, matched "
                                                         f"{flag.matched_term}) interacts with ketamine: review "
                                                         "the dose, timing or a pause before the infusion"))
    return violations
