"""The FHIR messages the orders service publishes on ``ketalink.orders.events`` (docs/contracts.md): the order
events (MedicationRequest + series CarePlan) and the response to an EHR CPOE order.

The MedicationRequest's ``basedOn`` names the CarePlan by its Ketalink identifier only, as the contract says; the
EHR's integration engine maps it to the CarePlan of the same message, so a new series applies in one transaction."""
from __future__ import annotations

from shared.errors import FieldInputError
from shared.events.event_codes import CPOE_ORDER_RESPONSE, ORDER_CHANGED
from shared.fhir.datatypes import FhirJson
from shared.people import Person
from shared.fhir.messaging import Message, ResponseCode, build_message, build_response
from services.orders.domain.cpoe import CpoeDecision
from services.orders.domain.order import OrderWithSeries
from services.orders.domain.settings import ProtocolSettings
from services.orders.translators.message_out import order_event_code, order_message_resources
from services.orders.translators.operation_outcome_out import cpoe_outcome, input_error_outcome


def order_event_message(current: OrderWithSeries, settings: ProtocolSettings,
                        source_endpoint: str) -> FhirJson | None:
    """The message for the order's latest change; None when there is nothing to tell (a draft)."""
    order, series = current.order, current.series
    event_code = order_event_code(order)
    if event_code is None:
        return None
    resources = order_message_resources(order, series, order.patient_id, None, settings.clinic_timezone)
    return build_message(event_code, source_endpoint, resources, author=order.history[-1].changed_by)


def infusion_recorded_message(current: OrderWithSeries, settings: ProtocolSettings, source_endpoint: str,
                              author: Person) -> FhirJson:
    """``order-changed`` for a series infusion recorded (given or cancelled) while the order stays active: the
    order's status did not change, so ``order_event_message`` has nothing to say, but the EHR's series CarePlan and
    the documentation service must see the infusion's new status."""
    resources = order_message_resources(current.order, current.series, current.order.patient_id, None,
                                        settings.clinic_timezone)
    return build_message(ORDER_CHANGED, source_endpoint, resources, author=author)


def cpoe_response_message(request: Message, decision: CpoeDecision, source_endpoint: str) -> FhirJson:
    """``ok`` with an information issue naming the new order, or ``fatal-error`` with one issue per reason."""
    code = ResponseCode.OK if decision.accepted else ResponseCode.FATAL_ERROR
    return build_response(request, code, source_endpoint, cpoe_outcome(decision), event_code=CPOE_ORDER_RESPONSE)


def cpoe_unreadable_response(request: Message, error: FieldInputError, source_endpoint: str) -> FhirJson:
    """``fatal-error`` for a CPOE MedicationRequest that cannot be read, naming each element at fault."""
    return build_response(request, ResponseCode.FATAL_ERROR, source_endpoint, input_error_outcome(error),
                          event_code=CPOE_ORDER_RESPONSE)
