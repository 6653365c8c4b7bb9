"""A ketamine MedicationRequest (placed in the EHR's CPOE, or Ketalink's own read back) → PrescribedInfusion.

Reads the contract's shape: ``dosageInstruction[0]`` route, ``timing.repeat.duration`` (min or h), the ``ordered``
doseAndRate (mg/kg, or a flat mg dose, which the CPOE check then rejects) and the ``calculated`` one (mg and mL/h),
``dispenseRequest.numberOfRepeatsAllowed`` + 1 infusions, ``supportingInformation`` → the weight Observation, the
product (``shared/fhir/medication.py``: RxNorm product code and/or ``ingredient.strength``) and ``reasonCode``.
Elements the check needs but the request lacks become None; anything that cannot be read safely (another unit, two
dosage instructions, a rateRatio that disagrees with the dose or duration) raises FhirMappingError."""
from __future__ import annotations

from typing import Any

from shared.people import Person
from shared.fhir.codes import KIND_ORDER, KIND_SERIES, RXNORM, SNOMED
from shared.fhir.datatypes import find_identifier, reference_id
from shared.fhir.medication import MedicationShapeError, coded_product
from shared.errors import FhirMappingError
from shared.fhir.reading import (
    converted_quantity, first_coding, moment, patient_id_of, referenced_identifier, validated,
)
from services.orders.domain.prescribed import PrescribedInfusion
from services.orders.translators.codes import (
    DOSE_CALCULATED, DOSE_ORDERED, DOSE_RATE_TYPE, UNIT_HOUR, UNIT_MG, UNIT_MG_PER_KG, UNIT_MIN, UNIT_ML_PER_H,
)

_DOSAGE = "MedicationRequest.dosageInstruction[0]"
_MINUTES_PER_HOUR = 60
_TO_MIN = {UNIT_MIN: lambda minutes: minutes, UNIT_HOUR: lambda hours: hours * _MINUTES_PER_HOUR}
_SAME = {UNIT_MG: lambda mg: mg}


def prescribed_infusion(medication_request: dict[str, Any], *, checked_in_message: bool = False
                        ) -> PrescribedInfusion:
    """``checked_in_message``: the MedicationRequest is an entry of an inbound message Bundle that ``parse_message``
    validated whole (every entry's resource with its own model, nulls and coerced values refused), so its structure
    is not checked a second time (issue 19: that second validation was ~5% of a CPOE order's CPU); a CDS Hooks draft
    or a resource read from the EHR's API is checked here."""
    resource = medication_request if checked_in_message else validated(medication_request, "MedicationRequest")
    if resource.get("resourceType") != "MedicationRequest":
        raise FhirMappingError("resourceType", f"expected a MedicationRequest, got {resource.get('resourceType')!r}")
    try:
        product = coded_product(resource, "MedicationRequest")
    except MedicationShapeError as error:
        raise FhirMappingError(error.path, error.message) from None
    reason_tokens, reason_text = _reasons(resource)
    dosages = resource.get("dosageInstruction") or []
    if len(dosages) > 1:
        raise FhirMappingError("MedicationRequest.dosageInstruction", "one dosage instruction is expected")
    dosage = dosages[0] if dosages else {}
    route = first_coding(dosage.get("route"), SNOMED)
    ordered, calculated = _dose_entries(dosage.get("doseAndRate") or [])
    mg_per_kg, flat_mg = _ordered_dose(ordered)
    duration_min = _duration_min(dosage, ordered, mg_per_kg)
    dose_mg = _calculated_mg(calculated) if calculated else flat_mg
    repeats = (resource.get("dispenseRequest") or {}).get("numberOfRepeatsAllowed")
    authored = resource.get("authoredOn")
    return PrescribedInfusion(
        patient_id=patient_id_of(resource.get("subject"), "MedicationRequest.subject"),
        status=resource.get("status") or "",
        intent=resource.get("intent") or "",
        medication_system=RXNORM if product.rxnorm_code else None,
        medication_code=product.rxnorm_code,
        medication_strength_mg_per_ml=product.strength_mg_per_ml,
        medication_is_ketamine=product.is_ketamine,
        reason_codes=reason_tokens,
        reason_text=reason_text,
        route_system=route.get("system") if route else None,
        route_code=route.get("code") if route else None,
        mg_per_kg=mg_per_kg,
        duration_min=duration_min,
        dose_mg=dose_mg,
        rate_ml_per_h=_rate(calculated),
        infusion_count=None if repeats is None else repeats + 1,
        weight_observation_id=_weight_observation_id(resource),
        ehr_request_id=resource.get("id"),
        order_id=find_identifier(resource, KIND_ORDER),
        series_id=referenced_identifier(resource.get("basedOn"), KIND_SERIES),
        requester=Person.from_fhir(resource.get("requester")),
        authored_on=moment(authored, "MedicationRequest.authoredOn") if authored else None,
        text=dosage.get("text"),
    )


def _reasons(resource: dict[str, Any]) -> tuple[tuple[str, ...], str | None]:
    """Every reasonCode coding as ``system|code``, and the first reason's text."""
    tokens: list[str] = []
    text = None
    for reason in resource.get("reasonCode") or []:
        tokens += [f"{c.get('system')}|{c.get('code')}" for c in reason.get("coding") or [] if c.get("code")]
        text = text or reason.get("text") or next(
            (c.get("display") for c in reason.get("coding") or [] if c.get("display")), None)
    return tuple(tokens), text


def _dose_entries(entries: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The ``ordered`` and ``calculated`` entries; an untyped single entry counts as ordered."""
    def typed(code: str) -> dict[str, Any] | None:
        return next((e for e in entries if any(c.get("system") == DOSE_RATE_TYPE and c.get("code") == code
                                               for c in (e.get("type") or {}).get("coding") or [])), None)

    ordered, calculated = typed(DOSE_ORDERED.code), typed(DOSE_CALCULATED.code)
    if ordered is None and len(entries) == 1 and not entries[0].get("type"):
        ordered = entries[0]
    return ordered, calculated


def _ordered_dose(ordered: dict[str, Any] | None) -> tuple[float | None, float | None]:
    """(mg/kg, flat mg) of the ordered dose; a flat mg dose is read so the check can say it is not weight-based."""
    if not ordered or "doseQuantity" not in ordered:
        if ordered and "doseRange" in ordered:
            raise FhirMappingError(f"{_DOSAGE}.doseAndRate.doseRange", "a dose range cannot be checked; "
                                                                      "order a single mg/kg dose")
        return None, None
    dose = ordered["doseQuantity"]
    path = f"{_DOSAGE}.doseAndRate.where(type.coding.code='ordered').doseQuantity"
    if (dose.get("code") or dose.get("unit")) == UNIT_MG:
        return None, converted_quantity(dose, path, _SAME)
    return converted_quantity(dose, path, {UNIT_MG_PER_KG: lambda mg_per_kg: mg_per_kg}), None


def _duration_min(dosage: dict[str, Any], ordered: dict[str, Any] | None, mg_per_kg: float | None) -> float | None:
    repeat = (dosage.get("timing") or {}).get("repeat") or {}
    timing_min = None
    if repeat.get("duration") is not None:
        timing_min = converted_quantity({"value": repeat["duration"], "code": repeat.get("durationUnit")},
                                        f"{_DOSAGE}.timing.repeat.durationUnit", _TO_MIN)
    ratio = (ordered or {}).get("rateRatio")
    if not ratio:
        return timing_min
    ratio_path = f"{_DOSAGE}.doseAndRate.where(type.coding.code='ordered').rateRatio"
    ratio_min = converted_quantity(ratio.get("denominator"), f"{ratio_path}.denominator", _TO_MIN)
    ratio_mg_per_kg = converted_quantity(ratio.get("numerator"), f"{ratio_path}.numerator",
                                         {UNIT_MG_PER_KG: lambda value: value})
    if timing_min is not None and ratio_min != timing_min:
        raise FhirMappingError(ratio_path, f"rate over {ratio_min:g} min disagrees with the "
                                           f"{timing_min:g} min duration")
    if mg_per_kg is not None and ratio_mg_per_kg != mg_per_kg:
        raise FhirMappingError(ratio_path, f"rate of {ratio_mg_per_kg:g} mg/kg disagrees with the "
                                           f"{mg_per_kg:g} mg/kg dose")
    return ratio_min


def _calculated_mg(calculated: dict[str, Any]) -> float | None:
    if "doseQuantity" not in calculated:
        return None
    return converted_quantity(calculated["doseQuantity"],
                              f"{_DOSAGE}.doseAndRate.where(type.coding.code='calculated').doseQuantity", _SAME)


def _rate(calculated: dict[str, Any] | None) -> float | None:
    if not calculated or "rateQuantity" not in calculated:
        return None
    return converted_quantity(calculated["rateQuantity"],
                              f"{_DOSAGE}.doseAndRate.where(type.coding.code='calculated').rateQuantity",
                              {UNIT_ML_PER_H: lambda ml_per_h: ml_per_h})


def _weight_observation_id(resource: dict[str, Any]) -> str | None:
    for ref in resource.get("supportingInformation") or []:
        observation_id = reference_id(ref, "Observation")
        if observation_id:
            return observation_id
    return None
