import pytest

from services.documentation.domain import session as s
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.pre_check import PreCheckOutcome, PregnancyCheck
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.vitals import VitalsReading

from .builders import DOCTOR, NURSE, SETTINGS, at, checked_in, confirmations, make_order, pre_checked, baseline


def recheck(session, order, moment, **vitals):
    return s.record_pre_check(
        session, order, baseline(f"pre-{moment:%H%M}", moment, **vitals), confirmations(), 80.0, SETTINGS, NURSE, moment
    )


def test_normal_check_clears_and_moves_session_to_pre_check():
    session = pre_checked()
    attempt = session.latest_pre_check
    assert session.status is s.SessionStatus.PRE_CHECK
    assert attempt.result.outcome is PreCheckOutcome.CLEARED
    assert attempt.blocking_reasons() == ()
    assert attempt.order_weight_kg == 80.0  # from the order: 40 mg / 0.5 mg/kg
    assert session.transitions[-1].by == NURSE


@pytest.mark.parametrize(
    "systolic, diastolic, outcome",
    [
        (140, 90, PreCheckOutcome.CLEARED),  # at the limit is not above it
        (141, 80, PreCheckOutcome.RECHECK_REQUIRED),
        (130, 91, PreCheckOutcome.RECHECK_REQUIRED),
    ],
)
def test_first_high_blood_pressure_only_asks_for_a_recheck(systolic, diastolic, outcome):
    session = pre_checked(pre_reading=baseline("pre-1", at(9, 5), systolic, diastolic))
    assert session.latest_pre_check.result.outcome is outcome
    if outcome is PreCheckOutcome.RECHECK_REQUIRED:
        assert session.latest_pre_check.result.recheck_reasons == (
            f"BP {systolic}/{diastolic} mmHg above 140/90 mmHg: recheck at rest",
        )
        assert session.latest_pre_check.result.vital_sign_holds == ()


def test_high_recheck_holds_and_a_normal_recheck_clears():
    order = make_order()
    first = pre_checked(order, pre_reading=baseline("pre-1", at(9, 5), 150, 95))
    held = recheck(first, order, at(9, 15), systolic=146, diastolic=92)
    assert held.latest_pre_check.result.outcome is PreCheckOutcome.HOLD
    assert held.latest_pre_check.result.vital_sign_holds == ("BP 146/92 mmHg above 140/90 mmHg on recheck at rest",)
    cleared = recheck(first, order, at(9, 15), systolic=136, diastolic=86)
    assert cleared.latest_pre_check.result.outcome is PreCheckOutcome.CLEARED
    assert len(cleared.pre_checks) == 2
    assert [t.to_status for t in cleared.transitions] == [s.SessionStatus.CHECKED_IN, s.SessionStatus.PRE_CHECK]


@pytest.mark.parametrize(
    "heart_rate, spo2, holds",
    [
        (110, 94.0, ()),
        (111, 98.0, ("heart rate 111/min above 110/min",)),
        (80, 93.9, ("SpO2 93.9% below 94%",)),
    ],
)
def test_heart_rate_and_spo2_hold_at_once(heart_rate, spo2, holds):
    session = pre_checked(pre_reading=baseline("pre-1", at(9, 5), heart_rate=heart_rate, spo2=spo2))
    assert session.latest_pre_check.result.vital_sign_holds == holds


@pytest.mark.parametrize(
    "changes, hold",
    [
        ({"last_solid_food_at": at(4, 0)}, "last solid food 5 h 06 min before the check, under the 6 h fasting "
                                            "window: wait 0 h 54 min and check again"),
        ({"ride_home_confirmed": False}, "ride home not confirmed"),
        ({"no_new_contraindication_since_intake": False}, "new contraindication since intake"),
        ({"no_new_interacting_drug_since_intake": False}, "new interacting drug since intake"),
        ({"pregnancy_check": PregnancyCheck.POSITIVE}, "pregnancy test positive"),
        ({"pregnancy_check": PregnancyCheck.NOT_DONE}, "pregnancy check not done"),
    ],
)
def test_each_missing_confirmation_holds(changes, hold):
    session = pre_checked(confirmed=confirmations(**changes))
    assert session.latest_pre_check.result.outcome is PreCheckOutcome.HOLD
    assert session.latest_pre_check.result.confirmation_holds == (hold,)


def test_negative_pregnancy_test_clears():
    session = pre_checked(confirmed=confirmations(pregnancy_check=PregnancyCheck.NEGATIVE))
    assert session.latest_pre_check.result.outcome is PreCheckOutcome.CLEARED


@pytest.mark.parametrize("latest_weight_kg, needs", [(84.0, False), (76.0, False), (84.1, True), (75.9, True)])
def test_weight_change_beyond_tolerance_reports_dose_recalculation(latest_weight_kg, needs):
    session = pre_checked(latest_weight_kg=latest_weight_kg)
    recalculation = session.latest_pre_check.result.dose_recalculation
    assert (recalculation is not None) is needs
    if needs:
        assert (recalculation.order_weight_kg, recalculation.latest_weight_kg) == (80.0, latest_weight_kg)
        assert session.latest_pre_check.blocking_reasons() == (recalculation.describe(),)


def test_dose_recalculation_message_gives_both_weights():
    session = pre_checked(latest_weight_kg=86.0)
    assert session.latest_pre_check.result.dose_recalculation.describe() == (
        "dose needs recalculation: weight 80 kg at order, 86 kg now (+7.5%)"
    )


def test_order_weight_given_explicitly_is_used_instead_of_dosing_weight():
    # dose computed on a capped 70 kg; the patient weighed 92 kg at order and 93 kg today: no recalculation
    session = pre_checked(latest_weight_kg=93.0, order_weight_kg=92.0)
    assert session.latest_pre_check.order_weight_kg == 92.0
    assert session.latest_pre_check.result.dose_recalculation is None


def test_tolerance_comes_from_settings():
    session = pre_checked(latest_weight_kg=83.0, settings=SessionSettings(weight_change_tolerance_percent=2.0))
    assert session.latest_pre_check.result.dose_recalculation.change_percent == 3.75


def test_pre_check_needs_bp_heart_rate_and_spo2():
    order = make_order()
    partial = VitalsReading("pre-1", at(9, 5), NURSE, systolic_mmhg=120, diastolic_mmhg=80, spo2_percent=98.0)
    with pytest.raises(DocumentationInputError) as error:
        s.record_pre_check(checked_in(order), order, partial, confirmations(), 80.0, SETTINGS, NURSE, at(9, 6))
    assert error.value.field == "reading.heart_rate_per_min"


def test_start_is_refused_listing_every_blocking_reason():
    order = make_order()
    session = pre_checked(
        order,
        pre_reading=baseline("pre-1", at(9, 5), heart_rate=118),
        confirmed=confirmations(ride_home_confirmed=False),
        latest_weight_kg=88.0,
    )
    with pytest.raises(TransitionNotAllowed) as error:
        s.start_infusion(session, order, NURSE, at(9, 10))
    assert error.value.failing == (
        "heart rate 118/min above 110/min",
        "ride home not confirmed",
        "dose needs recalculation: weight 80 kg at order, 88 kg now (+10.0%)",
    )
    assert error.value.reason.startswith("infusion cannot start: heart rate 118/min")


def test_pending_recheck_blocks_start():
    order = make_order()
    session = pre_checked(order, pre_reading=baseline("pre-1", at(9, 5), 150, 88))
    with pytest.raises(TransitionNotAllowed, match="recheck at rest"):
        s.start_infusion(session, order, NURSE, at(9, 10))


def test_override_lets_a_vital_sign_hold_start_and_keeps_reason_and_who():
    order = make_order()
    session = pre_checked(order, pre_reading=baseline("pre-1", at(9, 5), heart_rate=114))
    overridden = s.override_pre_check_hold(
        session, "anxious, HR 104 after 5 min rest; known baseline", DOCTOR, at(9, 12)
    )
    override = overridden.latest_pre_check.override
    assert (override.overridden_by, override.overridden_at) == (DOCTOR, at(9, 12))
    started = s.start_infusion(overridden, order, NURSE, at(9, 14))
    assert started.status is s.SessionStatus.INFUSING
    assert started.infusion_started_at == at(9, 14)


def test_override_needs_a_reason():
    session = pre_checked(pre_reading=baseline("pre-1", at(9, 5), heart_rate=114))
    with pytest.raises(DocumentationInputError) as error:
        s.override_pre_check_hold(session, "  ", DOCTOR, at(9, 12))
    assert error.value.field == "override.reason"


def test_override_does_not_clear_confirmations_or_weight():
    order = make_order()
    session = pre_checked(
        order, pre_reading=baseline("pre-1", at(9, 5), heart_rate=114), confirmed=confirmations(last_clear_fluids_at=at(8, 30))
    )
    overridden = s.override_pre_check_hold(session, "baseline tachycardia", DOCTOR, at(9, 12))
    with pytest.raises(TransitionNotAllowed) as error:
        s.start_infusion(overridden, order, NURSE, at(9, 14))
    assert error.value.failing == ("last clear fluids 0 h 36 min before the check, under the 2 h fasting window: "
                                   "wait 1 h 24 min and check again",)


def test_nothing_to_override_is_refused():
    session = pre_checked(confirmed=confirmations(last_clear_fluids_at=at(8, 30)))
    with pytest.raises(TransitionNotAllowed, match="no vital-sign hold"):
        s.override_pre_check_hold(session, "reason", DOCTOR, at(9, 12))


def test_order_changed_after_the_check_requires_a_new_check():
    order = make_order()
    session = pre_checked(order, latest_weight_kg=88.0)
    recalculated = make_order(dose_mg=44.0, rate_ml_per_h=82.5)
    with pytest.raises(TransitionNotAllowed) as error:
        s.start_infusion(session, recalculated, NURSE, at(9, 20))
    assert "order changed since the pre-infusion check (40 mg → 44 mg)" in error.value.reason
    rechecked = s.record_pre_check(
        session, recalculated, baseline("pre-2", at(9, 25)), confirmations(), 88.0, SETTINGS, NURSE, at(9, 26)
    )
    assert rechecked.latest_pre_check.result.dose_recalculation is None  # 44 mg / 0.5 mg/kg = 88 kg
    assert s.start_infusion(rechecked, recalculated, NURSE, at(9, 30)).status is s.SessionStatus.INFUSING


def test_a_reading_is_used_once_and_checks_go_forward_in_time():
    order = make_order()
    session = pre_checked(order)
    with pytest.raises(DocumentationInputError) as error:
        s.record_pre_check(session, order, baseline("pre-1", at(9, 8)), confirmations(), 80.0, SETTINGS, NURSE, at(9, 9))
    assert error.value.field == "reading.reading_id"
    with pytest.raises(DocumentationInputError) as error:
        s.record_pre_check(session, order, baseline("pre-2", at(9, 1)), confirmations(), 80.0, SETTINGS, NURSE, at(9, 2))
    assert error.value.field == "at"
