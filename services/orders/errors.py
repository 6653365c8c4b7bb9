"""Errors of the orders service layer (not the pure domain): what the EHR or the store said, so the web layer and
the consumer can each answer them in their own way (HTTP status / response message / retry)."""
from __future__ import annotations

from services.orders.domain.errors import OrdersInputError, Violation


class UnknownPatientError(LookupError):
    """The EHR has no Patient with this id: nothing can be calculated or ordered for it."""

    def __init__(self, patient_id: str):
        self.patient_id = patient_id
        super().__init__(f"patient {patient_id} is not known to the EHR")

    def violation(self) -> Violation:
        return Violation("patient_id", str(self))


class OrderNotFoundError(LookupError):
    def __init__(self, order_id: str):
        self.order_id = order_id
        super().__init__(f"order {order_id} not found")


class ActiveSeriesError(OrdersInputError):
    """The patient already has a signed series (active or on hold): a second one would double the treatment."""

    @classmethod
    def for_order(cls, order_id: str, series_id: str, status: str) -> ActiveSeriesError:
        return cls("patient_id", f"the patient already has a signed series ({series_id}, order {order_id}, "
                                 f"{status}); cancel or complete it before ordering another")
