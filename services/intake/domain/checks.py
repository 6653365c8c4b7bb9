"""The shared input checks (``shared.checks``), raising ``IntakeInputError`` naming the field."""
from __future__ import annotations

from shared.checks import FieldChecks
from services.intake.domain.errors import IntakeInputError

(require_aware, require_text, optional_text, require_number, require_positive,
 require_count) = FieldChecks(IntakeInputError).functions()
require_person = FieldChecks(IntakeInputError).require_person
