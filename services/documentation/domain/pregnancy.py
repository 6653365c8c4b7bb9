"""The pre-infusion pregnancy check (issue 13, defect 18): "not applicable" is accepted only when the patient's EHR
record, read on the day, rules pregnancy out under the clinic's settings (``shared/pregnancy.py``, the same rule as
the intake's pregnancy screen item). Otherwise the nurse must answer the check (negative, positive or not done; the
last two hold the infusion).

When the EHR Patient cannot be read, the check stays applicable (fail safe): "not applicable" is refused and the
reason says the record could not be read. The basis (the sex and age the decision came from) is kept with the check
so the note and a later reviewer can see why "not applicable" was allowed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.records import DocumentationRecord
from services.documentation.domain.settings import SessionSettings
from shared.pregnancy import childbearing_potential_from_birth_date, possible_ages

FIELD = "confirmations.pregnancy_check"


@dataclass(frozen=True)
class PregnancyApplicability(DocumentationRecord):
    """Whether the pregnancy check applies to the patient on the day, and why (``basis``: no name, no birth date,
    only the administrative sex and the age in years the rule used)."""

    applicable: bool
    basis: str


def pregnancy_applicability(sex: str | None, birth_date: str | None, on: date,
                            settings: SessionSettings) -> PregnancyApplicability:
    """From the EHR Patient's ``gender`` and ``birthDate`` on the clinic day ``on``."""
    applicable = childbearing_potential_from_birth_date(
        sex, birth_date, on, settings.pregnancy_not_applicable_sexes, settings.childbearing_age_range_years)
    return PregnancyApplicability(applicable, f"EHR record: sex {sex or 'not recorded'}, {_age_text(birth_date, on)}")


def record_unreadable(why: str) -> PregnancyApplicability:
    """The EHR Patient could not be read: the check applies (the safe side)."""
    return PregnancyApplicability(True, f"the EHR patient record could not be read ({why})")


def require_allowed_answer(answer_not_applicable: bool, applicability: PregnancyApplicability | None) -> None:
    """A 400 naming the field when "not applicable" is given for a patient the record does not rule out (or whose
    record was not read: ``applicability`` None)."""
    if not answer_not_applicable:
        return
    if applicability is None:
        applicability = record_unreadable("not read")
    if applicability.applicable:
        raise DocumentationInputError(
            FIELD, f"'not applicable' is only for a patient whose EHR record rules pregnancy out ({applicability.basis}"
                   "): record the pregnancy check (negative, positive or not done)")


def _age_text(birth_date: str | None, on: date) -> str:
    if not birth_date:
        return "no birth date"
    try:
        youngest, oldest = possible_ages(birth_date, on)
    except ValueError:
        return "birth date not readable"
    return f"age {youngest}" if youngest == oldest else f"age {youngest}-{oldest}"
