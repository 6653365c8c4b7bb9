"""The protocol-correct MedicationRequest a card suggests in place of the draft, built by the orders domain (the dose
calculation, the induction plan, the order) and the orders service's own outbound translator
(``medication_request_from_order``), so the suggestion is exactly what Ketalink itself would order and what the CPOE
check accepts.

What is kept from the draft: a mg/kg and a duration the protocol allows, a stocked product it names, a reason that is
the clinic's indication, a number of infusions the induction allows; anything else becomes the clinic's default
(the dosing product, ``default_dose_mg_per_kg``, ``default_duration_min``, ``induction_infusion_count``, the clinic's
indication). The dose and rate are calculated from the patient's latest weight, which the suggestion links as
``supportingInformation``. None when no protocol-correct order exists for the patient now (no usable weight, not
eligible, the dose cap would lower the dose): a card then offers only the link to the orders app."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.orders.cds_hooks.context import PatientContext
from services.orders.domain.cpoe import EHR_PRESCRIBER_FALLBACK, ordered_product
from services.orders.domain.dose import calculate_dose, dose_rule_violations
from services.orders.domain.errors import OrdersInputError
from services.orders.domain.indication import CLINIC_INDICATION, cpoe_indication
from services.orders.domain.lifecycle import create_order
from services.orders.domain.order import OrderSource
from services.orders.domain.prescribed import PrescribedInfusion
from services.orders.domain.series import TreatmentSeries, plan_induction
from services.orders.domain.settings import ProtocolSettings
from services.orders.translators.medication_request_out import medication_request_from_order

# Elements of the draft the suggestion keeps: who and what the EHR's order entry knows it by.
KEPT_FROM_DRAFT = ("id", "status", "intent", "requester", "encounter", "authoredOn", "identifier")
# Elements of Ketalink's own order that do not exist for a draft in the EHR (no Ketalink order or series yet).
KETALINK_ONLY = ("identifier", "basedOn")


def protocol_correct_request(draft: dict[str, Any], prescribed: PrescribedInfusion, context: PatientContext,
                             protocol: ProtocolSettings) -> dict[str, Any] | None:
    """The draft replaced by the protocol-correct order (see the module docstring), or None."""
    if context.weight is None or not context.weight.observation_id:
        return None  # the suggestion must link the weight its dose is calculated from
    mg_per_kg, duration_min = _dose_kept(prescribed, protocol)
    product, _ = ordered_product(prescribed, protocol)
    indication, _ = cpoe_indication(prescribed.reason_codes, prescribed.reason_text)
    requester = prescribed.requester or EHR_PRESCRIBER_FALLBACK
    now = context.now
    try:
        calculation = calculate_dose(context.weight, context.height, context.sex, protocol, mg_per_kg=mg_per_kg,
                                     duration_min=duration_min, now=now, product=product or protocol.dosing)
        if calculation.cap_applied:
            return None  # the CPOE check refuses a capped dose: a lower dose is the prescriber's decision
        series = _series(context.patient_id, prescribed, protocol, now)
        current = create_order(context.patient_id, context.eligibility, calculation, series, requester, protocol,
                               now=now, source=OrderSource.EHR_CPOE, ehr_request_id=prescribed.ehr_request_id,
                               indication=indication or CLINIC_INDICATION)
        resource = medication_request_from_order(current.order, current.series, context.weight.observation_id)
    except (OrdersInputError, ValueError):
        return None
    for element in KETALINK_ONLY:
        resource.pop(element, None)
    for element in KEPT_FROM_DRAFT:
        if element in draft:
            resource[element] = draft[element]
    if "requester" not in draft:
        resource.pop("requester", None)
    return resource


def update_suggestion(resource: dict[str, Any]) -> dict[str, Any]:
    """A CDS Hooks suggestion whose one ``update`` action replaces the draft with ``resource``."""
    dosage = resource["dosageInstruction"][0]
    return {"label": f"Order per the clinic protocol: {dosage['text']}"[:280], "uuid": str(uuid.uuid4()),
            "isRecommended": True,
            "actions": [{"type": "update", "description": "Replace the draft with the protocol-correct ketamine order",
                         "resource": resource}]}


def _dose_kept(prescribed: PrescribedInfusion, protocol: ProtocolSettings) -> tuple[float, int]:
    """The draft's mg/kg and duration where the protocol allows them without an override, else the defaults."""
    mg_per_kg, duration = prescribed.mg_per_kg, prescribed.duration_min
    if mg_per_kg is None or dose_rule_violations(mg_per_kg, protocol.default_duration_min, None, protocol):
        mg_per_kg = protocol.default_dose_mg_per_kg
    if duration is None or dose_rule_violations(protocol.default_dose_mg_per_kg, duration, None, protocol):
        duration = protocol.default_duration_min
    return float(mg_per_kg), int(duration)


def _series(patient_id: str, prescribed: PrescribedInfusion, protocol: ProtocolSettings,
            now: datetime) -> TreatmentSeries:
    """The induction from the clinic's today with the draft's number of infusions, or the clinic's when the
    induction does not allow it."""
    start = protocol.clinic_date(now)
    try:
        return plan_induction(patient_id, start, protocol, infusion_count=prescribed.infusion_count, now=now)
    except OrdersInputError:
        return plan_induction(patient_id, start, protocol, now=now)

