"""The shared input checks (``shared.checks``), raising ``CourseInputError`` naming the field."""
from __future__ import annotations

from shared.checks import FieldChecks
from services.orders.course.domain.errors import CourseInputError

(require_aware, require_text, optional_text, require_number, require_positive,
 require_count) = FieldChecks(CourseInputError).functions()
require_person = FieldChecks(CourseInputError).require_person
