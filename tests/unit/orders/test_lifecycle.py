import json
from dataclasses import replace
from datetime import timedelta

import pytest

from services.orders.domain.dose import calculate_dose
from services.orders.domain.eligibility import EligibilityStatus
from services.orders.domain.errors import (
    EligibilityRefusedError, IllegalTransitionError, OrdersInputError, StaleWeightError,
)
from services.orders.domain.lifecycle import (
    cancel_order, complete_order, create_order, hold_order, resume_order, sign_order,
)
from services.orders.domain.order import OrderSource, OrderStatus, OrderWithSeries
from services.orders.domain.series import InfusionStatus, SeriesStatus, plan_induction, record_infusion, with_status
from tests.unit.orders.builders import NOW, PATIENT, START, draft, eligibility, settings, signed, weight
from tests.unit.orders.builders import CPOE_PRESCRIBER, NURSE_CY, PRESCRIBER
from shared.people import Person

LATER = NOW + timedelta(hours=1)


def test_create_makes_a_draft_order_for_a_draft_series():
    created = draft()
    order = created.order
    assert (order.order_id, order.patient_id, order.series_id, order.intake_id) == (
        "order-1", PATIENT, "series-1", "intake-1")
    assert order.status is OrderStatus.DRAFT and created.series.status is SeriesStatus.DRAFT
    assert order.source is OrderSource.KETALINK
    assert (order.created_by, order.created_at, order.signing) == (PRESCRIBER, NOW, None)
    assert order.calculation.dose_mg == 40


def _create(**eligibility_overrides):
    protocol = settings()
    calc = calculate_dose(weight(), None, None, protocol, now=NOW)
    series = plan_induction(PATIENT, START, protocol, now=NOW)
    decision = eligibility(**eligibility_overrides) if eligibility_overrides else eligibility()
    return create_order(PATIENT, decision, calc, series, Person("Practitioner/dr-a", "Dr A"), protocol, now=NOW)


@pytest.mark.parametrize("overrides, field", [
    ({"status": EligibilityStatus.NOT_ELIGIBLE}, "eligibility.status"),
    ({"status": EligibilityStatus.NEEDS_REVIEW}, "eligibility.status"),
    ({"consent_on_file": False}, "eligibility.consent_on_file"),
    ({"patient_id": "patient-2"}, "eligibility.patient_id"),
])
def test_create_is_refused_unless_eligible_with_consent(overrides, field):
    with pytest.raises(EligibilityRefusedError) as caught:
        _create(**overrides)
    assert caught.value.field == field


def test_create_lists_every_refusal():
    with pytest.raises(EligibilityRefusedError) as caught:
        _create(status=EligibilityStatus.NOT_ELIGIBLE, consent_on_file=False)
    assert [v.field for v in caught.value.violations] == ["eligibility.status", "eligibility.consent_on_file"]


def test_create_without_an_eligibility_decision_is_refused():
    protocol = settings()
    calc = calculate_dose(weight(), None, None, protocol, now=NOW)
    with pytest.raises(EligibilityRefusedError) as caught:
        create_order(PATIENT, None, calc, plan_induction(PATIENT, START, protocol, now=NOW), Person("Practitioner/dr-a", "Dr A"), protocol, now=NOW)
    assert caught.value.field == "eligibility"


def test_create_refuses_a_series_of_another_patient_or_not_a_draft():
    protocol = settings()
    calc = calculate_dose(weight(), None, None, protocol, now=NOW)
    other = with_status(plan_induction("patient-2", START, protocol, now=NOW), SeriesStatus.ACTIVE)
    with pytest.raises(OrdersInputError) as caught:
        create_order(PATIENT, eligibility(), calc, other, Person("Practitioner/dr-a", "Dr A"), protocol, now=NOW)
    assert [v.field for v in caught.value.violations] == ["series.patient_id", "series.status"]


def test_create_refuses_a_calculation_whose_weight_has_aged_out():
    protocol = settings()
    calc = calculate_dose(weight(days_ago=29), None, None, protocol, now=NOW)
    with pytest.raises(StaleWeightError):
        create_order(PATIENT, eligibility(), calc, plan_induction(PATIENT, START, protocol, now=NOW), Person("Practitioner/dr-a", "Dr A"),
                     protocol, now=NOW + timedelta(days=2))


def test_sign_activates_order_and_series_and_records_who_and_when():
    result = signed()
    assert result.order.status is OrderStatus.ACTIVE and result.series.status is SeriesStatus.ACTIVE
    signing = result.order.signing
    assert (signing.from_status, signing.to_status, signing.changed_by, signing.changed_at) == (
        OrderStatus.DRAFT, OrderStatus.ACTIVE, PRESCRIBER, NOW + timedelta(minutes=5))


def test_sign_rechecks_eligibility_and_leaves_the_draft_untouched():
    created = draft()
    withdrawn = eligibility(consent_on_file=False)
    with pytest.raises(EligibilityRefusedError):
        sign_order(created, withdrawn, Person("Practitioner/dr-a", "Dr A"), settings(), now=LATER)
    assert created.order.status is OrderStatus.DRAFT and len(created.order.history) == 1


def test_sign_refuses_when_the_weight_aged_out_since_the_draft():
    with pytest.raises(StaleWeightError) as caught:
        sign_order(draft(), eligibility(), Person("Practitioner/dr-a", "Dr A"), settings(), now=NOW + timedelta(days=29))
    assert caught.value.field == "weight.measured_at"


def test_hold_resume_complete_record_every_step():
    result = signed()
    result = hold_order(result, NURSE_CY, "BP 168/102 before infusion 1", now=LATER)
    assert result.order.status is OrderStatus.ON_HOLD and result.series.status is SeriesStatus.ON_HOLD
    result = resume_order(result, PRESCRIBER, now=LATER + timedelta(days=1))
    assert result.order.status is OrderStatus.ACTIVE and result.series.status is SeriesStatus.ACTIVE
    result = complete_order(result, PRESCRIBER, now=LATER + timedelta(days=30), reason="induction done")
    assert result.order.status is OrderStatus.COMPLETED and result.series.status is SeriesStatus.COMPLETED
    steps = [(c.from_status and c.from_status.value, c.to_status.value, c.changed_by, c.reason)
             for c in result.order.history]
    assert steps == [
        (None, "draft", PRESCRIBER, None),
        ("draft", "active", PRESCRIBER, None),
        ("active", "on-hold", NURSE_CY, "BP 168/102 before infusion 1"),
        ("on-hold", "active", PRESCRIBER, None),
        ("active", "completed", PRESCRIBER, "induction done"),
    ]


def test_completing_early_cancels_the_infusions_not_given():
    result = signed()
    series = record_infusion(result.series, 1, InfusionStatus.COMPLETED)
    result = complete_order(OrderWithSeries(result.order, series), Person("Practitioner/dr-a", "Dr A"), now=LATER)
    assert [i.status.value for i in result.series.infusions] == ["completed"] + ["cancelled"] * 5


@pytest.mark.parametrize("prepare", [
    lambda: draft(),
    lambda: signed(),
    lambda: hold_order(signed(), Person("Practitioner/dr-a", "Dr A"), "patient unwell", now=LATER),
])
def test_cancel_from_draft_active_or_on_hold_revokes_the_series(prepare):
    result = cancel_order(prepare(), Person("Practitioner/dr-a", "Dr A"), "patient withdrew", now=LATER + timedelta(minutes=1))
    assert result.order.status is OrderStatus.CANCELLED
    assert result.series.status is SeriesStatus.REVOKED
    assert all(i.status is InfusionStatus.CANCELLED for i in result.series.infusions)
    assert result.order.history[-1].reason == "patient withdrew"


@pytest.mark.parametrize("action", [
    lambda r: hold_order(r, Person("Practitioner/dr-a", "Dr A"), " ", now=LATER),
    lambda r: cancel_order(r, Person("Practitioner/dr-a", "Dr A"), "", now=LATER),
])
def test_hold_and_cancel_need_a_reason(action):
    with pytest.raises(OrdersInputError) as caught:
        action(signed())
    assert caught.value.field == "reason"


def test_who_changed_the_order_is_required():
    with pytest.raises(OrdersInputError) as caught:
        complete_order(signed(), "", now=LATER)
    assert caught.value.field == "changed_by"
    with pytest.raises(OrdersInputError) as caught:
        sign_order(draft(), eligibility(), " ", settings(), now=LATER)
    assert caught.value.field == "signed_by"


def test_a_change_dated_before_the_last_one_is_refused():
    with pytest.raises(OrdersInputError) as caught:
        hold_order(signed(), Person("Practitioner/dr-a", "Dr A"), "BP", now=NOW)
    assert caught.value.field == "now"


HOLD = lambda r: hold_order(r, Person("Practitioner/dr-a", "Dr A"), "BP", now=LATER + timedelta(days=2))  # noqa: E731
RESUME = lambda r: resume_order(r, Person("Practitioner/dr-a", "Dr A"), now=LATER + timedelta(days=2))  # noqa: E731
COMPLETE = lambda r: complete_order(r, Person("Practitioner/dr-a", "Dr A"), now=LATER + timedelta(days=2))  # noqa: E731
CANCEL = lambda r: cancel_order(r, Person("Practitioner/dr-a", "Dr A"), "why", now=LATER + timedelta(days=2))  # noqa: E731
SIGN = lambda r: sign_order(r, eligibility(), Person("Practitioner/dr-a", "Dr A"), settings(), now=LATER + timedelta(days=2))  # noqa: E731


@pytest.mark.parametrize("prepare, action, current, wanted", [
    (draft, HOLD, "draft", "on-hold"),
    (draft, RESUME, "draft", "active"),
    (draft, COMPLETE, "draft", "completed"),
    (signed, SIGN, "active", "active"),
    (signed, RESUME, "active", "active"),
    (lambda: HOLD(signed()), COMPLETE, "on-hold", "completed"),
    (lambda: HOLD(signed()), HOLD, "on-hold", "on-hold"),
    (lambda: COMPLETE(signed()), CANCEL, "completed", "cancelled"),
    (lambda: COMPLETE(signed()), RESUME, "completed", "active"),
    (lambda: CANCEL(signed()), RESUME, "cancelled", "active"),
    (lambda: CANCEL(draft()), SIGN, "cancelled", "active"),
])
def test_illegal_transitions_name_the_current_and_wanted_state(prepare, action, current, wanted):
    with pytest.raises(IllegalTransitionError) as caught:
        action(prepare())
    assert (caught.value.current, caught.value.wanted) == (current, wanted)
    assert f"from {current!r} to {wanted!r}" in str(caught.value)


def test_order_and_series_round_trip_through_a_json_document():
    result = hold_order(signed(), NURSE_CY, "BP 168/102", now=LATER)
    stored = json.loads(json.dumps(result.to_dict()))
    assert stored["order"]["history"][2]["changed_at"] == "2026-11-20T10:00:00+00:00"
    assert OrderWithSeries.from_dict(stored) == result


def test_cpoe_source_and_ehr_id_are_kept():
    protocol = settings()
    calc = calculate_dose(weight(), None, None, protocol, now=NOW)
    created = create_order(PATIENT, eligibility(), calc, plan_induction(PATIENT, START, protocol, now=NOW),
                           CPOE_PRESCRIBER, protocol, now=NOW, source=OrderSource.EHR_CPOE, ehr_request_id="ehr-mr-9")
    restored = OrderWithSeries.from_dict(created.to_dict())
    assert (restored.order.source, restored.order.ehr_request_id) == (OrderSource.EHR_CPOE, "ehr-mr-9")
    assert replace(restored.order, ehr_request_id=None) != restored.order
