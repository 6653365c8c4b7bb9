import json

import pytest

from shared.fhir.codes import RXNORM, SNOMED
from services.orders.domain.cpoe import CpoeDecision, check_cpoe_order
from services.orders.domain.indication import IndicationSource
from services.orders.domain.eligibility import EligibilityStatus
from services.orders.domain.measurements import Sex
from services.orders.domain.order import OrderSource, OrderStatus
from services.orders.domain.prescribed import PrescribedInfusion
from services.orders.domain.series import SeriesPhase, SeriesStatus
from services.orders.domain.settings import ProtocolSettings, WeightBasis
from tests.unit.orders.builders import NOW, PATIENT, eligibility, height, prescribed, settings, weight
from tests.unit.orders.builders import CPOE_PRESCRIBER


def check(order=None, decision=None, measured=None, protocol=None, **kwargs):
    return check_cpoe_order(order or prescribed(), decision or eligibility(),
                            weight() if measured is None else measured, kwargs.pop("height", None),
                            kwargs.pop("sex", None), protocol or settings(), now=NOW, **kwargs)


def reason_fields(decision):
    return [r.field for r in decision.reasons]


def test_a_protocol_order_is_accepted_as_a_signed_order_with_an_active_induction():
    decision = check(order_id="order-9", series_id="series-9")
    assert decision.accepted and decision.reasons == ()
    order, series = decision.result.order, decision.result.series
    assert (order.order_id, order.status, order.source, order.ehr_request_id) == (
        "order-9", OrderStatus.ACTIVE, OrderSource.EHR_CPOE, "ehr-mr-9")
    assert order.signing.changed_by == CPOE_PRESCRIBER and order.created_by == CPOE_PRESCRIBER
    assert (order.calculation.dose_mg, order.calculation.rate_ml_per_h) == (40, 156.0)
    assert (series.series_id, series.phase, series.status, series.infusion_count) == (
        "series-9", SeriesPhase.INDUCTION, SeriesStatus.ACTIVE, 6)
    assert series.infusions[0].window_start == NOW.date()


def test_the_number_of_infusions_comes_from_the_repeats_allowed():
    assert check(prescribed(infusion_count=4)).result.series.infusion_count == 4


def test_an_order_without_a_requester_is_signed_as_the_cpoe_prescriber():
    assert check(prescribed(requester=None)).result.order.signing.changed_by.display == "EHR CPOE prescriber"


def test_a_stated_dose_within_one_rounding_increment_is_accepted():
    assert check(prescribed(dose_mg=41)).accepted


def test_a_stated_pump_rate_that_disagrees_with_the_calculation_is_refused():
    # 0.5 mg/kg of 80 kg: 4 mL + 100 mL over 40 min = 156 mL/h; the EHR's 250 mL/h (another bag) would stay on file
    decision = check(prescribed(rate_ml_per_h=250.0))
    assert not decision.accepted and reason_fields(decision) == ["rate_ml_per_h"]
    assert "states 250 mL/h" in decision.reasons[0].message and "156 mL/h" in decision.reasons[0].message
    assert check(prescribed(rate_ml_per_h=156.1)).accepted and check(prescribed(rate_ml_per_h=None)).accepted


def test_a_60_minute_order_at_1_mg_per_kg_is_accepted():
    decision = check(prescribed(mg_per_kg=1.0, duration_min=60, dose_mg=80, rate_ml_per_h=108.0))
    assert decision.accepted and decision.result.order.calculation.rate_ml_per_h == 108.0


@pytest.mark.parametrize("overrides, field, message", [
    ({"status": "draft"}, "status", "only an active order"),
    ({"intent": "proposal"}, "intent", "only an order"),
    ({"medication_system": RXNORM, "medication_code": "238082", "medication_strength_mg_per_ml": None},
     "medication", "stocks no ketamine product coded RxNorm 238082; stocked: ketamine 10 mg/mL injection"),
    ({"medication_is_ketamine": False, "medication_strength_mg_per_ml": None}, "medication",
     "must be a ketamine product"),
    ({"route_code": "78421000"}, "route", "intravenous"),
    ({"route_code": None, "route_system": None}, "route", "intravenous"),
    ({"mg_per_kg": 1.2, "dose_mg": 96}, "mg_per_kg", "override"),
    ({"mg_per_kg": 0.05, "dose_mg": 4}, "mg_per_kg", "minimum"),
    ({"mg_per_kg": None}, "mg_per_kg", "no weight-based dose"),
    ({"duration_min": 30.0}, "duration_min", "outside"),
    ({"duration_min": None}, "duration_min", "no infusion duration"),
    ({"dose_mg": 50}, "dose_mg", "states 50 mg but 0.5 mg/kg of the latest weight gives 40 mg"),
    ({"infusion_count": 10}, "infusion_count", "outside 1-8"),
    ({"patient_id": "patient-2"}, "eligibility.patient_id", "another patient"),
])
def test_an_order_outside_the_protocol_is_rejected_with_the_reason(overrides, field, message):
    decision = check(prescribed(**overrides))
    assert not decision.accepted and decision.result is None
    assert reason_fields(decision) == [field]
    assert message in decision.reasons[0].message


def test_a_dose_over_the_cap_is_rejected_not_lowered():
    decision = check(prescribed(dose_mg=None), measured=weight(230), protocol=settings(dose_cap_mg=100))
    assert reason_fields(decision) == ["dose_mg"]
    assert "115.0 mg is above the clinic's dose cap of 100 mg" in decision.reasons[0].message


def test_a_stated_dose_over_the_cap_is_rejected_even_if_our_weight_gives_less():
    decision = check(prescribed(dose_mg=120), protocol=settings(dose_cap_mg=100))
    assert reason_fields(decision) == ["dose_mg"] and "120.0 mg" in decision.reasons[0].message


@pytest.mark.parametrize("overrides, field", [
    ({"status": EligibilityStatus.NOT_ELIGIBLE}, "eligibility.status"),
    ({"status": EligibilityStatus.NEEDS_REVIEW}, "eligibility.status"),
    ({"consent_on_file": False}, "eligibility.consent_on_file"),
])
def test_an_order_for_an_ineligible_patient_is_rejected(overrides, field):
    assert reason_fields(check(decision=eligibility(**overrides))) == [field]


def test_no_eligibility_decision_rejects_the_order():
    decision = check_cpoe_order(prescribed(), None, weight(), None, None, settings(), now=NOW)
    assert reason_fields(decision) == ["eligibility"]


def test_a_stale_weight_rejects_the_order():
    assert reason_fields(check(measured=weight(days_ago=40))) == ["weight.measured_at"]


def test_no_weight_rejects_the_order():
    decision = check_cpoe_order(prescribed(), eligibility(), None, None, None, settings(), now=NOW)
    assert reason_fields(decision) == ["weight"]


def test_ideal_weight_clinic_needs_height_and_sex():
    protocol = settings(weight_basis=WeightBasis.IDEAL)
    assert reason_fields(check(protocol=protocol)) == ["height", "sex"]
    decision = check(prescribed(dose_mg=None, rate_ml_per_h=None), measured=weight(95), protocol=protocol,
                     height=height(177.8), sex=Sex.MALE)
    assert decision.accepted and decision.result.order.calculation.dose_mg == 37


def test_every_reason_is_listed_together():
    order = prescribed(route_code="78421000", mg_per_kg=2.0, duration_min=90.0, infusion_count=12)
    decision = check(order, decision=eligibility(consent_on_file=False), measured=weight(days_ago=40))
    assert reason_fields(decision) == ["route", "eligibility.consent_on_file", "weight.measured_at", "mg_per_kg",
                                       "duration_min", "infusion_count"]


def test_decision_round_trips_through_a_json_document():
    for decision in (check(order_id="order-9", series_id="series-9"), check(prescribed(route_code="x"))):
        assert CpoeDecision.from_dict(json.loads(json.dumps(decision.to_dict()))) == decision


def test_prescribed_infusion_round_trips_through_a_dict():
    order = prescribed()
    stored = json.loads(json.dumps(order.to_dict()))
    assert stored["authored_on"] == "2026-11-20T09:00:00+00:00" and stored["patient_id"] == PATIENT
    assert PrescribedInfusion.from_dict(stored) == order


# Products (issue 13 defect 1): a CPOE order for any stocked product is dosed at its strength; others are refused.

def _stocking_100() -> ProtocolSettings:
    return settings(stocked_products=("ketamine-10", "ketamine-100"))


def test_a_cpoe_order_for_a_stocked_non_default_product_is_dosed_at_that_products_strength():
    order = prescribed(medication_system=RXNORM, medication_code="238083", medication_strength_mg_per_ml=None,
                       rate_ml_per_h=150.6)  # 100.4 mL over 40 min
    decision = check_cpoe_order(order, eligibility(), weight(), None, None, _stocking_100(), now=NOW)
    assert decision.accepted
    calc = decision.result.order.calculation
    assert calc.drug_product.product_id == "ketamine-100" and calc.concentration_mg_per_ml == 100.0
    assert (calc.dose_mg, calc.drug_volume_ml, calc.drawn_mg) == (40.0, 0.4, 40.0)  # not 4.0 mL of 100 mg/mL
    assert "Add 0.40 mL of ketamine 100 mg/mL" in calc.text


def test_a_cpoe_order_coded_by_ingredient_strength_is_matched_to_the_stocked_product():
    order = prescribed(medication_strength_mg_per_ml=100.0, rate_ml_per_h=150.6)
    decision = check_cpoe_order(order, eligibility(), weight(), None, None, _stocking_100(), now=NOW)
    assert decision.accepted and decision.result.order.calculation.drug_product.rxnorm_code == "238083"


@pytest.mark.parametrize("overrides, message", [
    ({"medication_system": RXNORM, "medication_code": "238083", "medication_strength_mg_per_ml": None},
     "stocks no ketamine product coded RxNorm 238083; stocked: ketamine 10 mg/mL injection"),
    ({"medication_strength_mg_per_ml": 50.0}, "ketamine 50 mg/mL is not stocked by the clinic"),
    ({"medication_strength_mg_per_ml": None}, "does not say which ketamine product"),
])
def test_a_cpoe_order_for_an_unstocked_product_is_refused_with_the_reason(overrides, message):
    decision = check(prescribed(**overrides))
    assert not decision.accepted and reason_fields(decision) == ["medication"]
    assert message in decision.reasons[0].message


def test_a_product_code_and_a_strength_that_disagree_are_refused():
    order = prescribed(medication_system=RXNORM, medication_code="238083", medication_strength_mg_per_ml=10.0)
    decision = check_cpoe_order(order, eligibility(), weight(), None, None, _stocking_100(), now=NOW)
    assert not decision.accepted and reason_fields(decision) == ["medication"]


# Indication (issue 13 defect 12).

def test_a_cpoe_order_without_a_reason_gets_the_clinics_indication_said_so():
    indication = check(prescribed()).result.order.indication
    assert indication.source is IndicationSource.CLINIC
    assert {c.code for c in indication.codes} == {"370143000", "trd"}


def test_a_cpoe_order_for_major_depressive_disorder_keeps_its_reason():
    decision = check(prescribed(reason_codes=(f"{SNOMED}|370143000",), reason_text="MDD, recurrent, severe"))
    indication = decision.result.order.indication
    assert (indication.source, indication.text) == (IndicationSource.ORDER, "MDD, recurrent, severe")


def test_a_cpoe_order_for_another_indication_is_refused():
    decision = check(prescribed(reason_codes=(f"{SNOMED}|82423001",), reason_text="Chronic pain"))
    assert not decision.accepted and reason_fields(decision) == ["reason"]
    assert "Chronic pain" in decision.reasons[0].message


def test_a_cpoe_order_whose_text_names_another_strength_than_its_product_is_refused():
    decision = check(prescribed(text="ketamine 0.5 mg/kg IV: add 4 mL of ketamine 100 mg/mL to 100 mL saline"))
    assert not decision.accepted and reason_fields(decision) == ["medication"]
    assert "text names ketamine 100 mg/mL but its coded product is ketamine 10 mg/mL injection" in (
        decision.reasons[0].message)
    assert check(prescribed(text="ketamine 0.5 mg/kg IV over 40 min")).accepted
