"""Course errors. Both are OrdersInputErrors naming the field, so the orders web layer answers them like its other
input errors; the glue answers CourseStateError with 409 (the course's state refuses the step, e.g. a maintenance
decision while the induction is still running)."""
from __future__ import annotations

from services.orders.domain.errors import OrdersInputError


class CourseInputError(OrdersInputError):
    """Input the course cannot accept; ``field`` is a JSON-pointer-like path such as ``score.items[8]``."""


class CourseStateError(CourseInputError):
    """The course's status does not allow the step; ``field`` is ``status`` unless said otherwise."""

    def __init__(self, message: str, field: str = "status"):
        super().__init__(field, message)
