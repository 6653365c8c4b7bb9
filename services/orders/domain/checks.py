"""The shared input checks (``shared.checks``), raising ``OrdersInputError`` naming the field."""
from __future__ import annotations

from shared.checks import FieldChecks
from services.orders.domain.errors import OrdersInputError

(require_aware, require_text, optional_text, require_number, require_positive,
 require_count) = FieldChecks(OrdersInputError).functions()
