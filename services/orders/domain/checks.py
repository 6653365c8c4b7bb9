"""The shared input checks (``shared.checks``), raising ``OrdersInputError`` naming the field."""
from __future__ import annotations

from shared.checks import FieldChecks
from services.orders.domain.errors import OrdersInputError

_checks = FieldChecks(OrdersInputError)
require_aware = _checks.require_aware
require_text = _checks.require_text
optional_text = _checks.optional_text
require_number = _checks.require_number
require_positive = _checks.require_positive
require_count = _checks.require_count
