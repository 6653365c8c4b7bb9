"""Why ketamine is ordered: the indication an order carries to the EHR (``MedicationRequest.reasonCode``) and, through
it, to the procedure note.

The clinic's protocol treats one indication: treatment-resistant major depressive disorder. It is coded with the
SNOMED CT concept for major depressive disorder (370143000, verified) and Ketalink's local TRD concept (no SNOMED CT
or ICD-10-CM code for TRD exists; ../shared/CLINICAL.md "Codes"). The intake's eligibility decision is what
establishes it, so every Ketalink order carries it. A CPOE order is accepted with its own reason when that reason
is one of these codes, with the clinic's indication (source ``clinic``, said in the note) when it states none, and
refused when it states another reason: the clinic's protocol and eligibility rules were made for this indication
only.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from shared.fhir.codes import MAJOR_DEPRESSIVE_DISORDER, TREATMENT_RESISTANT_DEPRESSION, Code
from shared.records import JsonRecord
from services.orders.domain.errors import Violation


class IndicationSource(enum.Enum):
    ORDER = "order"  # stated by the prescriber's order (Ketalink's own orders, or a CPOE order's reasonCode)
    CLINIC = "clinic"  # a CPOE order stated none: the clinic's indication, established by the intake


@dataclass(frozen=True)
class IndicationCode(JsonRecord):
    system: str
    code: str
    display: str

    @property
    def token(self) -> str:
        return f"{self.system}|{self.code}"


@dataclass(frozen=True)
class Indication(JsonRecord):
    codes: tuple[IndicationCode, ...]
    text: str
    source: IndicationSource = IndicationSource.ORDER


def _code(code: Code) -> IndicationCode:
    return IndicationCode(code.system, code.code, code.display)


CLINIC_INDICATION_CODES = (_code(MAJOR_DEPRESSIVE_DISORDER), _code(TREATMENT_RESISTANT_DEPRESSION))
CLINIC_INDICATION = Indication(CLINIC_INDICATION_CODES, "Treatment-resistant major depressive disorder")
ACCEPTED_REASON_TOKENS = frozenset(c.token for c in CLINIC_INDICATION_CODES)


def cpoe_indication(reason_tokens: tuple[str, ...], reason_text: str | None) -> tuple[Indication | None,
                                                                                       list[Violation]]:
    """The indication of a CPOE order from its reasonCode codings (``system|code``) and text."""
    if not reason_tokens and not reason_text:
        return Indication(CLINIC_INDICATION_CODES, CLINIC_INDICATION.text, IndicationSource.CLINIC), []
    matching = tuple(c for c in CLINIC_INDICATION_CODES if c.token in reason_tokens)
    if not matching:
        stated = reason_text or ", ".join(reason_tokens)
        return None, [Violation("reason", f"the order's reason ({stated}) is not the clinic's indication for "
                                          f"ketamine ({CLINIC_INDICATION.text}: SNOMED CT "
                                          f"{MAJOR_DEPRESSIVE_DISORDER.code} or the local TRD code)")]
    return Indication(matching, reason_text or CLINIC_INDICATION.text, IndicationSource.ORDER), []
