"""Orders placed in the EHR's CPOE: checked against the clinic protocol and the patient's eligibility, then either
accepted (turned into a signed Ketalink order with its induction series) or rejected with every reason.

Checks: status active and intent order; the drug is a ketamine product the clinic stocks (``products.py``: named
by its verified RxNorm product code or by its ingredient strength; the dose is then calculated at that product's
strength) given IV (SNOMED 47625008); a reason that is the clinic's indication, or none (``indication.py``); a
weight-based dose whose mg/kg and duration are within the clinic's ranges (no override is possible through CPOE:
above the clinic maximum the prescriber orders in Ketalink); a recent weight (and height/sex when the clinic doses
on ideal/adjusted weight); the dose calculated from it within the clinic's cap; a stated mg dose that agrees with
that calculation to within one rounding increment (otherwise the EHR used another weight), and a stated pump rate
that agrees with ours to within one rate increment (otherwise the EHR used another bag or duration); the number of
infusions within the clinic's induction limits; eligibility and consent. Reasons name domain fields; the
OperationOutcome translator maps them onto MedicationRequest paths.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from shared.people import Person
from shared.fhir.codes import ROUTE_INTRAVENOUS
from shared.fhir.medication import strengths_in_text
from shared.records import JsonRecord
from services.orders.domain.body_weight import body_size_violations
from services.orders.domain.dose import DoseCalculation, calculate_dose, dose_rule_violations, weight_violations
from services.orders.domain.eligibility import EligibilityDecision, eligibility_violations
from services.orders.domain.errors import OrdersInputError, Violation
from services.orders.domain.indication import cpoe_indication
from services.orders.domain.lifecycle import create_order, sign_order
from services.orders.domain.measurements import BodyHeight, BodyWeight, Sex
from services.orders.domain.order import OrderSource, OrderWithSeries
from services.orders.domain.prescribed import PrescribedInfusion
from services.orders.domain.products import KetamineProduct, stocked_product_for
from services.orders.domain.series import plan_induction
from services.orders.domain.settings import ProtocolSettings
from services.orders.domain.timestamps import current_moment

ACCEPTED_INTENTS = ("order", "original-order")
EHR_PRESCRIBER_FALLBACK = Person(None, "EHR CPOE prescriber")  # a CPOE order that names no requester


@dataclass(frozen=True)
class CpoeDecision(JsonRecord):
    accepted: bool
    reasons: tuple[Violation, ...]  # empty when accepted
    ehr_request_id: str | None
    result: OrderWithSeries | None  # the signed order and its active series when accepted


def check_cpoe_order(prescribed: PrescribedInfusion, eligibility: EligibilityDecision | None,
                     weight: BodyWeight | None, height: BodyHeight | None, sex: Sex | None,
                     settings: ProtocolSettings, now: datetime | None = None, start_date: date | None = None,
                     order_id: str | None = None, series_id: str | None = None) -> CpoeDecision:
    """Accept or reject an EHR order; never raises for a clinical reason (every reason is in the decision).

    ``weight`` is the patient's latest weight in the EHR; the series starts on ``start_date`` (default: today at
    the clinic) at the clinic's default frequency."""
    now = current_moment(now)
    product, product_reasons = ordered_product(prescribed, settings)
    indication, indication_reasons = cpoe_indication(prescribed.reason_codes, prescribed.reason_text)
    reasons = (_request_violations(prescribed) + product_reasons + indication_reasons
               + eligibility_violations(eligibility, prescribed.patient_id))
    calculation, dose_reasons = _calculation(prescribed, weight, height, sex, settings, now, product)
    reasons += dose_reasons
    series = None
    try:
        series = plan_induction(prescribed.patient_id, start_date or settings.clinic_date(now), settings,
                                infusion_count=prescribed.infusion_count, series_id=series_id, now=now)
    except OrdersInputError as error:
        reasons += list(error.violations)
    if reasons or calculation is None or series is None or indication is None:
        return CpoeDecision(False, tuple(reasons), prescribed.ehr_request_id, None)
    prescriber = prescribed.requester or EHR_PRESCRIBER_FALLBACK
    draft = create_order(prescribed.patient_id, eligibility, calculation, series, prescriber, settings, now=now,
                         order_id=order_id, source=OrderSource.EHR_CPOE, ehr_request_id=prescribed.ehr_request_id,
                         indication=indication)
    signed = sign_order(draft, eligibility, prescriber, settings, now=now)
    return CpoeDecision(True, (), prescribed.ehr_request_id, signed)


def _calculation(prescribed: PrescribedInfusion, weight: BodyWeight | None, height: BodyHeight | None,
                 sex: Sex | None, settings: ProtocolSettings, now: datetime,
                 product: KetamineProduct | None) -> tuple[DoseCalculation | None, list[Violation]]:
    """Our own calculation of the ordered mg/kg from the latest weight, with every reason it cannot be made or
    does not match what the order states."""
    reasons = weight_violations(weight, now, settings) + body_size_violations(settings.weight_basis, height, sex)
    if prescribed.mg_per_kg is None or prescribed.duration_min is None:
        return None, reasons  # _request_violations names what is missing
    rule_violations = dose_rule_violations(prescribed.mg_per_kg, prescribed.duration_min, None, settings)
    if reasons or rule_violations or product is None:  # ordered_product names an unusable product
        return None, reasons + rule_violations
    try:
        calculation = calculate_dose(weight, height, sex, settings, mg_per_kg=prescribed.mg_per_kg,
                                     duration_min=int(prescribed.duration_min), now=now, product=product)
    except OrdersInputError as error:
        return None, list(error.violations)
    return calculation, _stated_dose_violations(prescribed, calculation, settings)


def _request_violations(prescribed: PrescribedInfusion) -> list[Violation]:
    violations = []
    if prescribed.status != "active":
        violations.append(Violation("status", f"only an active order can be accepted, not {prescribed.status!r}"))
    if prescribed.intent not in ACCEPTED_INTENTS:
        violations.append(Violation("intent", f"only an order can be accepted, not intent {prescribed.intent!r}"))
    route = ROUTE_INTRAVENOUS
    if (prescribed.route_system, prescribed.route_code) != (route.system, route.code):
        violations.append(Violation("route", "the route must be intravenous (SNOMED CT 47625008)"))
    if prescribed.mg_per_kg is None:
        violations.append(Violation("mg_per_kg", "the order has no weight-based dose in mg/kg"))
    if prescribed.duration_min is None:
        violations.append(Violation("duration_min", "the order has no infusion duration"))
    return violations


def ordered_product(prescribed: PrescribedInfusion,
                    settings: ProtocolSettings) -> tuple[KetamineProduct | None, list[Violation]]:
    """The stocked product the order names, or the reason it cannot be dosed from: another drug, no stated
    strength, or a product (RxNorm code or strength) the clinic does not stock."""
    stocked = settings.stocked
    stocked_text = ", ".join(p.display for p in stocked)
    code, strength = prescribed.medication_code, prescribed.medication_strength_mg_per_ml
    product = stocked_product_for(stocked, code, strength)
    other_strengths = strengths_in_text(prescribed.text) - {product.strength_mg_per_ml if product else strength}
    if product is not None and other_strengths:
        named = ", ".join(f"{s:g}" for s in sorted(other_strengths))
        return None, [Violation("medication", f"the order's text names ketamine {named} mg/mL but its coded product "
                                              f"is {product.display}")]
    if product is not None:
        return product, []
    if code is not None:
        named = f"RxNorm {code}" + ("" if strength is None else f" at {strength:g} mg/mL")
        return None, [Violation("medication", f"the clinic stocks no ketamine product coded {named}; "
                                              f"stocked: {stocked_text}")]
    if not prescribed.medication_is_ketamine:
        return None, [Violation("medication", f"the medication must be a ketamine product; stocked: {stocked_text}")]
    if strength is None:
        return None, [Violation("medication", "the order does not say which ketamine product (a verified RxNorm "
                                              "product code or Medication.ingredient.strength); stocked: "
                                              f"{stocked_text}")]
    return None, [Violation("medication", f"ketamine {strength:g} mg/mL is not stocked by the clinic; "
                                          f"stocked: {stocked_text}")]


def _stated_dose_violations(prescribed: PrescribedInfusion, calculation: DoseCalculation,
                            settings: ProtocolSettings) -> list[Violation]:
    """The clinic's cap cannot silently lower an EHR order, so a dose over it (calculated or stated) rejects it;
    a stated dose more than one rounding increment from ours means the EHR used another weight."""
    cap_mg = settings.dose_cap_mg
    stated_mg = prescribed.dose_mg
    stated_over_cap = cap_mg is not None and stated_mg is not None and stated_mg > cap_mg
    if calculation.cap_applied or stated_over_cap:
        over_mg = stated_mg if stated_over_cap else calculation.unrounded_dose_mg
        return [Violation("dose_mg", f"{over_mg:.1f} mg is above the clinic's dose cap of {cap_mg:g} mg; "
                                     "re-order within the cap")]
    if stated_mg is not None and abs(stated_mg - calculation.dose_mg) > settings.dose_rounding_mg:
        return [Violation("dose_mg", f"the order states {stated_mg:g} mg but {prescribed.mg_per_kg:g} mg/kg "
                                     f"of the latest weight gives {calculation.dose_mg:g} mg")]
    stated_rate = prescribed.rate_ml_per_h
    if stated_rate is not None and abs(stated_rate - calculation.rate_ml_per_h) > settings.rate_rounding_ml_per_h:
        # The EHR's order would stay on file with a pump rate Ketalink never calculated (another bag or duration).
        return [Violation("rate_ml_per_h", f"the order states {stated_rate:g} mL/h but {calculation.bag_volume_ml:g} "
                                           f"mL over {calculation.duration_min} min runs at "
                                           f"{calculation.rate_ml_per_h:g} mL/h")]
    return []
