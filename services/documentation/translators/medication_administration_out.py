"""Session's administration record → MedicationAdministration.

R4 MedicationAdministration has no lot or expiry element, so the drug lot travels as a contained Medication
(``batch.lotNumber``, ``batch.expirationDate``) referenced from ``medicationReference``: the lot belongs to this
administration only and is never a stand-alone resource the EHR should store. The Medication is the order's own
product (``shared/fhir/medication.py``: its code and ``ingredient.strength``); an order received before orders
carried the strength is coded by the ingredient alone, never as a product of a strength it may not have been.
``request`` names the order by its Ketalink identifier. ``dosage.dose`` is the total mg given and ``dosage.rateQuantity`` the actual mean pump rate
(mL/h) while running; the rate changes and pauses are in ``dosage.text`` and ``note`` (they include every pump
change charted on the flowsheet or as an alert action, so the dose is the one the pump delivered).

The controlled-substance record (when recorded) rides along in the Ketalink extension
``controlled-substance-accounting``: product, lot, drawn, given and wasted (mg); who witnessed the waste is the
Provenance of ``provenance_waste_witness_out``. One resource per infusion keeps what was given and what was
accounted for together; a second MedicationAdministration for the waste would claim the patient received it.
"""

from __future__ import annotations

from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.order import ActiveOrder
from services.documentation.domain.session import Session, SessionStatus
from services.documentation.translators import references
from services.documentation.translators.codes import CONTROLLED_SUBSTANCE_EXTENSION
from shared.fhir.codes import KETAMINE_INGREDIENT, ROUTE_INTRAVENOUS, RXNORM
from shared.fhir.datatypes import (
    FhirJson,
    codeable_concept,
    fhir_date,
    identifier,
    instant,
    quantity,
    reference_by_identifier,
)
from shared.fhir.medication import product_medication
from shared.fhir.validate import validate_resource

CONTAINED_MEDICATION_ID = "ketamine-lot"
_DECIMALS = 2


def medication_administration_from_session(session: Session, order: ActiveOrder) -> FhirJson:
    record = session.administration
    if record is None:
        raise DocumentationInputError("administration", "no administration recorded for this session")
    stopped_early = session.status is SessionStatus.ABORTED and any(
        t.from_status is SessionStatus.INFUSING and t.to_status is SessionStatus.ABORTED for t in session.transitions
    )
    rates_text = "; ".join(f"{c.rate_ml_per_h:g} mL/h from {instant(c.at)}" for c in record.rate_changes)
    notes = [f"Paused {instant(p.paused_at)} to {instant(p.resumed_at)}: {p.reason}" for p in record.pauses]
    if record.dose_discrepancy_reason:
        notes.append(f"Dose differs from the order ({order.dose_mg:g} mg): {record.dose_discrepancy_reason}")
    resource: FhirJson = {
        "resourceType": "MedicationAdministration",
        "contained": [
            {
                **_order_product(order),
                "identifier": [identifier(references.DRUG_LOT_KIND, record.lot_number)],
                "batch": {"lotNumber": record.lot_number, "expirationDate": fhir_date(record.lot_expiry)},
            }
        ],
        "identifier": [identifier(references.ADMINISTRATION_KIND, session.session_id)],
        "status": "stopped" if stopped_early else "completed",
        "medicationReference": {"reference": f"#{CONTAINED_MEDICATION_ID}"},
        "subject": references.patient(session.patient_id),
        "context": references.encounter(session.session_id),
        "effectivePeriod": {"start": instant(record.started_at), "end": instant(record.stopped_at)},
        "performer": [{"actor": references.person(record.recorded_by)}],
        "request": reference_by_identifier("MedicationRequest", references.ORDER_KIND, session.order_id),
        "dosage": {
            "text": f"Pump rates: {rates_text}",
            "route": codeable_concept(ROUTE_INTRAVENOUS),
            "dose": quantity(round(record.total_mg, _DECIMALS), "mg"),
            "rateQuantity": quantity(round(record.average_rate_ml_per_h, _DECIMALS), "mL/h"),
        },
    }
    if stopped_early and session.end_reason:
        resource["statusReason"] = [{"text": session.end_reason}]
    if notes:
        resource["note"] = [{"text": text} for text in notes]
    if session.controlled_substance is not None:
        resource["extension"] = [controlled_substance_extension(session)]
    return validate_resource(resource)


def controlled_substance_extension(session: Session) -> FhirJson:
    """Product, lot and the amounts drawn, given and wasted (mg) of the infusion's controlled-substance record."""
    record = session.controlled_substance
    if record is None:
        raise DocumentationInputError("controlled_substance", "no controlled-substance record for this session")
    product: FhirJson = {"text": record.product}
    if record.product_code:
        product["coding"] = [{"system": RXNORM, "code": record.product_code}]
    return {
        "url": CONTROLLED_SUBSTANCE_EXTENSION,
        "extension": [
            {"url": "product", "valueCodeableConcept": product},
            {"url": "lotNumber", "valueString": record.lot_number},
            {"url": "drawn", "valueQuantity": quantity(round(record.drawn_mg, _DECIMALS), "mg")},
            {"url": "given", "valueQuantity": quantity(round(record.given_mg, _DECIMALS), "mg")},
            {"url": "wasted", "valueQuantity": quantity(round(record.wasted_mg, _DECIMALS), "mg")},
        ],
    }


def _order_product(order: ActiveOrder) -> FhirJson:
    """The order's product as the contained Medication (the lot is added by the caller)."""
    if order.product_strength_mg_per_ml is None:
        return {"resourceType": "Medication", "id": CONTAINED_MEDICATION_ID,
                "code": codeable_concept(KETAMINE_INGREDIENT, "ketamine")}
    return product_medication(order.product_strength_mg_per_ml, order.product_text, order.product_rxnorm_code,
                              CONTAINED_MEDICATION_ID)
