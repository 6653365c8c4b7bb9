"""The shared input checks (``shared.checks``), raising ``DocumentationInputError`` naming the field."""
from __future__ import annotations

from shared.checks import FieldChecks
from services.documentation.domain.errors import DocumentationInputError

(require_aware, require_text, optional_text, require_number, require_positive,
 require_count) = FieldChecks(DocumentationInputError).functions()
require_person = FieldChecks(DocumentationInputError).require_person
