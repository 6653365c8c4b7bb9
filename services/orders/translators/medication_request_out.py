"""InfusionOrder + its series → the MedicationRequest of the order events, exactly as docs/contracts.md:
ordered dose in mg/kg with a mg/kg-per-minutes rate, the calculated mg and pump rate in mL/h, the human text,
``basedOn`` the series CarePlan (by identifier) and ``supportingInformation`` the weight Observation.

The product is a contained Medication (``shared/fhir/medication.py``) built from the calculation's own product, the
one its volume and text were calculated at, so code, strength, text and volume cannot disagree. The actual body
weight the dose was calculated from (value, time, EHR Observation) travels as a contained Observation, so
documentation compares today's actual weight with it even when the EHR's Observation is gone. ``reasonCode`` is the
order's indication (MDD SNOMED CT 370143000 + the local TRD code)."""
from __future__ import annotations

from typing import Any

from shared.fhir.codes import BODY_WEIGHT, KIND_ORDER, KIND_SERIES, ROUTE_INTRAVENOUS, VITAL_SIGNS_CATEGORY
from shared.fhir.datatypes import (
    codeable_concept, identifier, instant, quantity, reference, reference_by_identifier,
)
from shared.fhir.medication import product_medication, product_reference
from shared.fhir.validate import validate_resource
from services.orders.domain.dose import DoseCalculation
from services.orders.domain.indication import Indication, IndicationSource
from services.orders.domain.order import InfusionOrder
from services.orders.domain.series import TreatmentSeries
from services.orders.translators.codes import (
    DOSE_CALCULATED, DOSE_ORDERED, UNIT_MG, UNIT_MG_PER_KG, UNIT_MIN, UNIT_ML_PER_H,
)


def medication_request_from_order(order: InfusionOrder, series: TreatmentSeries,
                                  weight_observation_ref: str | dict[str, Any] | None = None) -> dict[str, Any]:
    """``weight_observation_ref``: a Reference dict, ``Observation/{id}``, a bare id, or None to use the id of the
    weight the dose was calculated from. ValueError when there is no weight Observation to point at or the
    series is not the order's."""
    if series.series_id != order.series_id:
        raise ValueError(f"series {series.series_id} is not the series of order {order.order_id}")
    calc = order.calculation
    product = calc.drug_product
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "contained": [product_medication(product.strength_mg_per_ml, product.display, product.rxnorm_code),
                      _actual_weight(calc, order.patient_id)],
        "identifier": [identifier(KIND_ORDER, order.order_id)],
        "status": order.status.value,
        "intent": "order",
        "medicationReference": product_reference(product.display),
        "subject": reference("Patient", order.patient_id),
        "authoredOn": instant(order.created_at),
        "reasonCode": [_reason(order.reason)],
        "basedOn": [reference_by_identifier("CarePlan", KIND_SERIES, order.series_id)],
        "supportingInformation": [_weight_reference(weight_observation_ref, calc.weight.observation_id),
                                  {"reference": f"#{ACTUAL_WEIGHT_ID}",
                                   "display": "actual body weight the dose was calculated from"}],
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
        resource["requester"] = signing.changed_by.fhir_reference()
    return validate_resource(resource)


ACTUAL_WEIGHT_ID = "actual-weight"


def _actual_weight(calc: DoseCalculation, patient_id: str) -> dict[str, Any]:
    """The actual body weight (not the dosing weight: ideal, adjusted or capped) with its time and EHR source."""
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": ACTUAL_WEIGHT_ID,
        "status": "final",
        "category": [codeable_concept(VITAL_SIGNS_CATEGORY)],
        "code": codeable_concept(BODY_WEIGHT),
        "subject": reference("Patient", patient_id),
        "effectiveDateTime": instant(calc.weight.measured_at),
        "valueQuantity": quantity(calc.weight.value_kg, "kg"),
    }
    if calc.weight.observation_id:
        observation["derivedFrom"] = [reference("Observation", calc.weight.observation_id)]
    return observation


def _reason(indication: Indication) -> dict[str, Any]:
    text = indication.text
    if indication.source is IndicationSource.CLINIC:
        text += " (the clinic's indication: the EHR order stated none)"
    return {"coding": [{"system": c.system, "code": c.code, "display": c.display} for c in indication.codes],
            "text": text}


def _weight_reference(given: str | dict[str, Any] | None, calculated_from_id: str | None) -> dict[str, Any]:
    if isinstance(given, dict):
        return given
    if given:
        return {"reference": given} if "/" in given else reference("Observation", given)
    if calculated_from_id:
        return reference("Observation", calculated_from_id)
    raise ValueError("the order needs the weight Observation it was calculated from (supportingInformation)")
