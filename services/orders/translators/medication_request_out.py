"""InfusionOrder + its series → the MedicationRequest of the order events, exactly as docs/contracts.md:
ordered dose in mg/kg with a mg/kg-per-minutes rate, the calculated mg and pump rate in mL/h, the human text,
``basedOn`` the series CarePlan (by identifier) and ``supportingInformation`` the weight Observation."""
from __future__ import annotations

from typing import Any

from shared.fhir.codes import KETAMINE_100MG_PER_ML_INJECTION, ROUTE_INTRAVENOUS
from shared.fhir.datatypes import codeable_concept, identifier, instant, quantity, reference, reference_by_identifier
from shared.fhir.validate import validate_resource
from services.orders.domain.order import InfusionOrder
from services.orders.domain.series import TreatmentSeries
from services.orders.translators.codes import (
    DOSE_CALCULATED, DOSE_ORDERED, KIND_ORDER, KIND_SERIES, UNIT_MG, UNIT_MG_PER_KG, UNIT_MIN, UNIT_ML_PER_H,
)


def medication_request_from_order(order: InfusionOrder, series: TreatmentSeries,
                                  weight_observation_ref: str | dict[str, Any] | None = None) -> dict[str, Any]:
    """``weight_observation_ref``: a Reference dict, ``Observation/{id}``, a bare id, or None to use the id of the
    weight the dose was calculated from. ValueError when there is no weight Observation to point at or the
    series is not the order's."""
    if series.series_id != order.series_id:
        raise ValueError(f"series {series.series_id} is not the series of order {order.order_id}")
    calc = order.calculation
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "identifier": [identifier(KIND_ORDER, order.order_id)],
        "status": order.status.value,
        "intent": "order",
        "medicationCodeableConcept": codeable_concept(KETAMINE_100MG_PER_ML_INJECTION),
        "subject": reference("Patient", order.patient_id),
        "authoredOn": instant(order.created_at),
        "basedOn": [reference_by_identifier("CarePlan", KIND_SERIES, order.series_id)],
        "supportingInformation": [_weight_reference(weight_observation_ref, calc.weight.observation_id)],
        "dosageInstruction": [{
            "text": calc.text,
            "route": codeable_concept(ROUTE_INTRAVENOUS),
            "timing": {"repeat": {"count": 1, "duration": calc.duration_min, "durationUnit": UNIT_MIN}},
            "doseAndRate": [
                {
                    "type": codeable_concept(DOSE_ORDERED),
                    "doseQuantity": quantity(calc.mg_per_kg, UNIT_MG_PER_KG),
                    "rateRatio": {"numerator": quantity(calc.mg_per_kg, UNIT_MG_PER_KG),
                                  "denominator": quantity(calc.duration_min, UNIT_MIN)},
                },
                {
                    "type": codeable_concept(DOSE_CALCULATED),
                    "doseQuantity": quantity(calc.dose_mg, UNIT_MG),
                    "rateQuantity": quantity(calc.rate_ml_per_h, UNIT_ML_PER_H),
                },
            ],
        }],
        "dispenseRequest": {"numberOfRepeatsAllowed": series.infusion_count - 1},
    }
    signing = order.signing
    if signing is not None:
        resource["requester"] = {"display": signing.changed_by}
    return validate_resource(resource)


def _weight_reference(given: str | dict[str, Any] | None, calculated_from_id: str | None) -> dict[str, Any]:
    if isinstance(given, dict):
        return given
    if given:
        return {"reference": given} if "/" in given else reference("Observation", given)
    if calculated_from_id:
        return reference("Observation", calculated_from_id)
    raise ValueError("the order needs the weight Observation it was calculated from (supportingInformation)")
