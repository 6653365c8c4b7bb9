"""Being emptied (issue 14): the errors move to where they are raised; the two names below are imported from their
new modules only until the service layer imports them there."""
from __future__ import annotations

from services.orders.domain.errors import OrdersInputError
from services.orders.ehr_reads import UnknownPatientError
from services.orders.repository import OrderNotFoundError

__all__ = ["ActiveSeriesError", "OrderNotFoundError", "UnknownPatientError"]


class ActiveSeriesError(OrdersInputError):
    """The patient already has a signed series (active or on hold): a second one would double the treatment."""

    @classmethod
    def for_order(cls, order_id: str, series_id: str, status: str) -> ActiveSeriesError:
        return cls("patient_id", f"the patient already has a signed series ({series_id}, order {order_id}, "
                                 f"{status}); cancel or complete it before ordering another")
