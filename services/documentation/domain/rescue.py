"""A rescue medication given during the session (e.g. an antiemetic for nausea, an antihypertensive for a BP alert):
its own administration record, not a sentence in the alert's free text, so the EHR's medication record, the
interaction checks and the controlled-drug audit see it (issue 13, "rescue actions coded").

The medication is named (and coded when the clinic's list gives a code), with its dose, unit and route; when and
by whom come from the alert action that gave it (the signed-in clinician)."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from services.documentation.domain.checks import require_text
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.records import DocumentationRecord

MAX_RESCUE_DOSE = 10_000  # an outer bound of any single dose in mg or micrograms, against typing errors (1e308)


class RescueRoute(enum.Enum):
    INTRAVENOUS = "intravenous"
    ORAL = "oral"
    INTRAMUSCULAR = "intramuscular"
    SUBLINGUAL = "sublingual"


class RescueDoseUnit(enum.Enum):
    """UCUM units of a single dose."""

    MILLIGRAM = "mg"
    MICROGRAM = "ug"


@dataclass(frozen=True)
class RescueMedication(DocumentationRecord):
    """``code_system``/``code`` go together (e.g. RxNorm and its code), or neither when only the name is known."""

    name: str
    dose_value: float
    dose_unit: RescueDoseUnit
    route: RescueRoute
    code_system: str = ""
    code: str = ""

    def __post_init__(self) -> None:
        require_text(self.name, "name")
        value = self.dose_value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise DocumentationInputError("dose_value", f"expected a number, got {value!r}")
        if not 0 < value <= MAX_RESCUE_DOSE:
            raise DocumentationInputError("dose_value", f"must be above 0 and at most {MAX_RESCUE_DOSE}, got {value:g}")
        if bool(self.code_system.strip()) != bool(self.code.strip()):
            raise DocumentationInputError("code" if self.code_system else "code_system", "system and code go together")

    def describe(self) -> str:
        return f"{self.name} {self.dose_value:g} {self.dose_unit.value.replace('ug', 'mcg')} {self.route.value}"
