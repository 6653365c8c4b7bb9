"""MedicationRequest from ``order-signed`` / ``order-changed`` (docs/contracts.md) → the order's dose fields.

Reads the ``ordered`` dose-and-rate (mg/kg) and the ``calculated`` one (mg, mL/h), the duration (min), the series
(basedOn CarePlan identifier), the infusion count (numberOfRepeatsAllowed + 1), the ketamine product and its strength
(``shared/fhir/medication.py``: any ketamine product whose strength the order states), the indication
(``reasonCode``) and the actual body weight the dose was calculated from (the contained Observation named in
``supportingInformation``). Anything else in the shape raises FhirMappingError naming the element."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.documentation.domain.order import OrderStatus
from services.documentation.translators import references
from shared.checks import FieldChecks
from shared.errors import FhirMappingError
from shared.fhir.codes import BODY_WEIGHT, ROUTE_INTRAVENOUS, identifier_system
from shared.fhir.datatypes import FhirJson, find_identifier, has_coding, read_quantity, reference_id
from shared.fhir.medication import CodedProduct, MedicationShapeError, coded_product, strengths_in_text
from shared.fhir.validate import validate_resource
from shared.fhir.vital_signs import TO_KG
from shared.people import Person
from shared.records import RecordError, parse_aware_datetime

MAPPING_CHECKS = FieldChecks(FhirMappingError)  # translators-in refuse with the FHIRPath of the element

_WHERE = "MedicationRequest"


@dataclass(frozen=True)
class OrderedInfusion:
    order_id: str
    series_id: str
    patient_id: str
    status: OrderStatus
    dose_mg_per_kg: float
    dose_mg: float
    duration_min: int
    rate_ml_per_h: float
    infusion_count: int
    dose_calculation_text: str
    indication: str
    signed_by: Person | None
    authored_at: datetime | None
    weight_observation_reference: str
    product_strength_mg_per_ml: float | None
    product_display: str
    product_rxnorm_code: str | None
    actual_weight_kg: float | None
    actual_weight_measured_at: datetime | None


def ordered_infusion_from_medication_request(medication_request: FhirJson) -> OrderedInfusion:
    validate_resource(medication_request)
    if medication_request.get("resourceType") != "MedicationRequest":
        raise FhirMappingError(
            "resourceType", f"expected MedicationRequest, got {medication_request.get('resourceType')}"
        )
    order_id = find_identifier(medication_request, references.ORDER_KIND)
    if not order_id:
        raise FhirMappingError(f"{_WHERE}.identifier", "no Ketalink order identifier")
    if medication_request.get("intent") != "order":
        raise FhirMappingError(f"{_WHERE}.intent", f"expected 'order', got {medication_request.get('intent')!r}")
    product = _product(medication_request)
    patient_id = reference_id(medication_request.get("subject"), "Patient")
    if not patient_id:
        raise FhirMappingError(f"{_WHERE}.subject", "expected a literal Patient reference")
    dosage = (medication_request.get("dosageInstruction") or [None])[0]
    if not dosage:
        raise FhirMappingError(f"{_WHERE}.dosageInstruction", "required")
    if not has_coding(dosage.get("route"), ROUTE_INTRAVENOUS):
        raise FhirMappingError(f"{_WHERE}.dosageInstruction[0].route", "expected the intravenous route")
    _text_names_the_product(dosage.get("text"), product)
    ordered = _dose_and_rate(dosage, "ordered")
    calculated = _dose_and_rate(dosage, "calculated")
    authored_on = medication_request.get("authoredOn")
    return OrderedInfusion(
        order_id=order_id,
        series_id=_series_id(medication_request),
        patient_id=patient_id,
        status=_status(medication_request.get("status")),
        dose_mg_per_kg=_required_quantity(ordered.get("doseQuantity"), "mg/kg", "doseAndRate[ordered].doseQuantity"),
        dose_mg=_required_quantity(calculated.get("doseQuantity"), "mg", "doseAndRate[calculated].doseQuantity"),
        duration_min=_duration_min(dosage),
        rate_ml_per_h=_required_quantity(
            calculated.get("rateQuantity"), "mL/h", "doseAndRate[calculated].rateQuantity"
        ),
        infusion_count=_infusion_count(medication_request),
        dose_calculation_text=dosage.get("text", ""),
        indication=_indication(medication_request),
        signed_by=Person.from_fhir(medication_request.get("requester")),
        authored_at=_authored_at(authored_on) if authored_on else None,
        weight_observation_reference=_weight_reference(medication_request),
        product_strength_mg_per_ml=product.strength_mg_per_ml,
        product_display=product.display or "",
        product_rxnorm_code=product.rxnorm_code,
        **_actual_weight(medication_request),
    )


def _product(medication_request: FhirJson) -> CodedProduct:
    """The ketamine product with its strength; an order for another drug or one that does not say the strength
    cannot be charted (the volume drawn would be a guess)."""
    try:
        product = coded_product(medication_request, _WHERE)
    except MedicationShapeError as error:
        raise FhirMappingError(error.path, error.message) from None
    if not product.is_ketamine:
        raise FhirMappingError(f"{_WHERE}.medication", "not a ketamine product")
    if product.strength_mg_per_ml is None:
        raise FhirMappingError(f"{_WHERE}.medication", "the ketamine product's strength is not stated "
                                                       "(Medication.ingredient.strength)")
    return product


def _text_names_the_product(text: str | None, product: CodedProduct) -> None:
    """The dosing text's strength must be the coded product's: an order coded 100 mg/mL whose text says 10 mg/mL
    (as every order did before products were coded) is not charted as either."""
    named = strengths_in_text(text) - {product.strength_mg_per_ml}
    if named:
        raise FhirMappingError(f"{_WHERE}.dosageInstruction[0].text",
                               f"names ketamine {', '.join(f'{s:g}' for s in sorted(named))} mg/mL but the coded "
                               f"product is {product.strength_mg_per_ml:g} mg/mL")


def _actual_weight(medication_request: FhirJson) -> dict[str, object]:
    """The contained body-weight Observation named in supportingInformation (value in kg, time), if any."""
    named = {(info.get("reference") or "")[1:] for info in medication_request.get("supportingInformation") or []
             if (info.get("reference") or "").startswith("#")}
    for contained in medication_request.get("contained") or []:
        if (contained.get("resourceType") != "Observation" or contained.get("id") not in named
                or not has_coding(contained.get("code"), BODY_WEIGHT)):
            continue
        where = f"{_WHERE}.contained.where(id='{contained.get('id')}')"
        value = contained.get("valueQuantity") or {}
        unit = value.get("code") or value.get("unit")
        if value.get("value") is None or unit not in TO_KG:
            raise FhirMappingError(f"{where}.valueQuantity", "expected a body weight in kg or [lb_av]")
        effective = contained.get("effectiveDateTime")
        try:
            measured_at = parse_aware_datetime(effective, f"{where}.effectiveDateTime") if effective else None
        except RecordError as error:
            raise FhirMappingError(error.path, error.message) from None
        return {"actual_weight_kg": round(TO_KG[unit](float(value["value"])), 2),
                "actual_weight_measured_at": measured_at}
    return {"actual_weight_kg": None, "actual_weight_measured_at": None}


def _status(status: str | None) -> OrderStatus:
    return MAPPING_CHECKS.require_member(OrderStatus, status, f"{_WHERE}.status")


def _series_id(medication_request: FhirJson) -> str:
    for based_on in medication_request.get("basedOn") or []:
        ident = based_on.get("identifier") or {}
        if ident.get("system") == identifier_system(references.SERIES_KIND) and ident.get("value"):
            return ident["value"]
    raise FhirMappingError(f"{_WHERE}.basedOn", "no CarePlan reference by Ketalink series identifier")


def _dose_and_rate(dosage: FhirJson, type_code: str) -> FhirJson:
    for entry in dosage.get("doseAndRate") or []:
        if any(c.get("code") == type_code for c in (entry.get("type") or {}).get("coding", [])):
            return entry
    raise FhirMappingError(f"{_WHERE}.dosageInstruction[0].doseAndRate", f"no entry of type {type_code}")


def _required_quantity(value: FhirJson | None, unit: str, where: str) -> float:
    try:
        number = read_quantity(value, unit)
    except ValueError as error:
        raise FhirMappingError(f"{_WHERE}.dosageInstruction[0].{where}", str(error)) from None
    if number is None:
        raise FhirMappingError(f"{_WHERE}.dosageInstruction[0].{where}", "required")
    return number


def _duration_min(dosage: FhirJson) -> int:
    repeat = (dosage.get("timing") or {}).get("repeat") or {}
    where = f"{_WHERE}.dosageInstruction[0].timing.repeat"
    if repeat.get("durationUnit") != "min":
        raise FhirMappingError(f"{where}.durationUnit", f"expected 'min', got {repeat.get('durationUnit')!r}")
    duration = repeat.get("duration")
    if duration is None or float(duration) != int(duration):
        raise FhirMappingError(f"{where}.duration", f"expected whole minutes, got {duration!r}")
    return int(duration)


def _infusion_count(medication_request: FhirJson) -> int:
    repeats = (medication_request.get("dispenseRequest") or {}).get("numberOfRepeatsAllowed")
    if repeats is None:
        raise FhirMappingError(f"{_WHERE}.dispenseRequest.numberOfRepeatsAllowed", "required (infusions − 1)")
    return int(repeats) + 1


def _indication(medication_request: FhirJson) -> str:
    """Every reason the order states (its text, else its codings' displays), joined."""
    texts = []
    for reason in medication_request.get("reasonCode") or []:
        text = reason.get("text") or ", ".join(c["display"] for c in reason.get("coding", []) if c.get("display"))
        if text and text not in texts:
            texts.append(text)
    return "; ".join(texts)


def _authored_at(text: str) -> datetime | None:
    if len(text) <= len("YYYY-MM-DD"):
        return None  # a date alone: keep no time rather than invent midnight in some zone
    try:
        return parse_aware_datetime(text, f"{_WHERE}.authoredOn")
    except RecordError as error:
        raise FhirMappingError(error.path, error.message) from None


def _weight_reference(medication_request: FhirJson) -> str:
    for info in medication_request.get("supportingInformation") or []:
        if reference_id(info, "Observation"):
            return info["reference"]
    return ""
