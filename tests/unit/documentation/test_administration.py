from datetime import date

import pytest

from services.documentation.domain import session as s
from services.documentation.domain.administration import Pause, RateChange
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.settings import SessionSettings

from .builders import NURSE, SETTINGS, administration, at, discharged, infusing, make_order, recovering


def test_totals_computed_from_the_pump_rate_match_the_order():
    order = make_order()
    session = s.record_administration(recovering(order), order, administration(), SETTINGS)
    record = session.administration
    assert record.computed_total_ml == pytest.approx(50.0)  # 75 mL/h x 40 min
    assert record.concentration_mg_per_ml == pytest.approx(0.8)  # from the order
    assert record.total_mg == pytest.approx(40.0)
    assert record.ordered_dose_mg == 40.0 and record.dose_deviation_percent == pytest.approx(0.0)
    assert record.average_rate_ml_per_h == pytest.approx(75.0)
    assert not record.totals_entered


def test_pauses_and_rate_changes_are_taken_out_of_the_volume():
    # 75 mL/h 09:10-09:30 (25 mL), paused 09:30-09:35, 60 mL/h 09:35-09:55 (20 mL): 45 mL = 36 mg (-10%)
    record = administration(
        stopped_at=at(9, 55),
        rate_changes=(RateChange(at(9, 10), 75.0), RateChange(at(9, 35), 60.0)),
        pauses=(Pause(at(9, 30), at(9, 35), "BP 182/104, paused per protocol"),),
    )
    assert record.paused_min == 5 and record.running_min == 40
    assert record.computed_total_ml == pytest.approx(45.0)
    order = make_order()
    ended_at_0955 = s.end_infusion(infusing(order), NURSE, at(9, 55))  # the record stops when the chart does
    completed = s.record_administration(ended_at_0955, order, record, SETTINGS).administration
    assert completed.total_mg == pytest.approx(36.0)
    assert completed.dose_deviation_percent == pytest.approx(-10.0)  # at the tolerance: no reason needed


def test_a_pause_spanning_a_rate_change_is_removed_from_both_segments():
    record = administration(
        rate_changes=(RateChange(at(9, 10), 75.0), RateChange(at(9, 30), 60.0)),
        pauses=(Pause(at(9, 25), at(9, 35), "nausea"),),
    )
    # 75 mL/h for 15 min (18.75 mL) + 60 mL/h for 15 min (15 mL)
    assert record.computed_total_ml == pytest.approx(33.75)


def test_dose_short_beyond_tolerance_needs_a_reason():
    order = make_order()
    stopped_early = administration(stopped_at=at(9, 40))  # 30 min at 75 mL/h = 37.5 mL = 30 mg (-25%)
    with pytest.raises(DocumentationInputError) as error:
        s.record_administration(recovering(order), order, stopped_early, SETTINGS)
    assert error.value.field == "administration.dose_discrepancy_reason"
    assert "30.0 mg given vs 40 mg ordered (-25.0%, tolerance 10%)" in error.value.message
    explained = s.record_administration(
        recovering(order),
        order,
        administration(stopped_at=at(9, 40), dose_discrepancy_reason="stopped for BP 186/112"),
        SETTINGS,
    )
    assert explained.administration.total_mg == pytest.approx(30.0)


def test_a_record_running_before_the_charted_start_or_after_the_charted_end_is_refused():
    """The chart says 09:10-09:50; a record to 11:10 claimed 150 mL (120 mg of a 40 mg bag) with any reason."""
    order = make_order()
    with pytest.raises(DocumentationInputError) as error:
        s.record_administration(recovering(order), order, administration(
            stopped_at=at(11, 10), dose_discrepancy_reason="ran long"), SETTINGS)
    assert error.value.field == "stopped_at" and "after the infusion ended on the chart" in error.value.message
    with pytest.raises(DocumentationInputError) as error:
        s.record_administration(recovering(order), order, administration(
            started_at=at(8, 30), rate_changes=(RateChange(at(8, 30), 75.0),), dose_discrepancy_reason="x"), SETTINGS)
    assert error.value.field == "started_at"
    started_a_minute_late = administration(started_at=at(9, 11), rate_changes=(RateChange(at(9, 11), 75.0),))
    assert s.record_administration(recovering(order), order, started_a_minute_late, SETTINGS).administration


def test_more_than_the_bag_held_is_refused_even_with_a_reason():
    """The bag holds the order's volume (75 mL/h x 40 min = 50 mL, 40 mg): the pump stops when it is empty."""
    order = make_order()
    faster = administration(rate_changes=(RateChange(at(9, 10), 75.0), RateChange(at(9, 20), 150.0)),
                            dose_discrepancy_reason="rate doubled")  # 12.5 + 75 mL = 87.5 mL
    with pytest.raises(DocumentationInputError) as error:
        s.record_administration(recovering(order), order, faster, SETTINGS)
    assert error.value.field == "administration.stopped_at"
    assert "more than the bag held (50 mL" in error.value.message
    typed = administration(entered_total_mg=400.0, dose_discrepancy_reason="see note")
    with pytest.raises(DocumentationInputError) as error:
        s.record_administration(recovering(order), order, typed, SETTINGS)
    assert error.value.field == "administration.entered_total_mg"
    within = administration(entered_total_ml=54.0)  # overfill and pump accuracy: within the 10% tolerance
    assert s.record_administration(recovering(order), order, within, SETTINGS).administration.total_mg == \
        pytest.approx(43.2)


def test_tolerance_is_a_setting():
    order = make_order()
    record = administration(stopped_at=at(9, 46))  # 36 min → 36 mg, -10%
    with pytest.raises(DocumentationInputError):
        s.record_administration(
            recovering(order), order, record, SessionSettings(administered_dose_tolerance_percent=5)
        )


def test_entered_totals_are_used_and_checked():
    order = make_order()
    entered = administration(entered_total_ml=49.0, entered_total_mg=39.2)
    record = s.record_administration(recovering(order), order, entered, SETTINGS).administration
    assert (record.total_ml, record.total_mg) == (49.0, 39.2)
    assert record.totals_entered
    ml_only = s.record_administration(recovering(order), order, administration(entered_total_ml=48.0), SETTINGS)
    assert ml_only.administration.total_mg == pytest.approx(38.4)
    mg_only = s.record_administration(recovering(order), order, administration(entered_total_mg=38.0), SETTINGS)
    assert mg_only.administration.total_ml == pytest.approx(47.5)
    with pytest.raises(DocumentationInputError) as error:
        s.record_administration(
            recovering(order), order, administration(entered_total_ml=50.0, entered_total_mg=25.0), SETTINGS
        )
    assert error.value.field == "administration.entered_total_mg"


def test_prepared_concentration_overrides_the_order_one():
    order = make_order()
    record = administration(concentration_mg_per_ml=0.78)
    completed = s.record_administration(recovering(order), order, record, SETTINGS).administration
    assert completed.total_mg == pytest.approx(39.0)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"stopped_at": at(9, 10)}, "stopped_at"),
        ({"rate_changes": ()}, "rate_changes"),
        ({"rate_changes": (RateChange(at(9, 12), 75.0),)}, "rate_changes[0].at"),
        ({"rate_changes": (RateChange(at(9, 10), 75.0), RateChange(at(9, 50), 50.0))}, "rate_changes[1].at"),
        (
            {"rate_changes": (RateChange(at(9, 10), 75.0), RateChange(at(9, 30), 50.0), RateChange(at(9, 20), 60.0))},
            "rate_changes[2].at",
        ),
        ({"pauses": (Pause(at(9, 5), at(9, 15), "line"),)}, "pauses[0].paused_at"),
        ({"pauses": (Pause(at(9, 45), at(9, 55), "line"),)}, "pauses[0].resumed_at"),
        ({"pauses": (Pause(at(9, 20), at(9, 30), "a"), Pause(at(9, 25), at(9, 35), "b"))}, "pauses[1].paused_at"),
        ({"lot_number": ""}, "lot_number"),
        ({"lot_expiry": date(2026, 3, 1)}, "lot_expiry"),
    ],
)
def test_record_rules_name_the_field(changes, field):
    with pytest.raises(DocumentationInputError) as error:
        administration(**changes)
    assert error.value.field == field


def test_lot_expiring_on_the_day_of_the_infusion_is_still_usable():
    assert administration(lot_expiry=date(2026, 3, 2)).lot_expiry == date(2026, 3, 2)


def test_pause_needs_a_reason_and_positive_length():
    with pytest.raises(DocumentationInputError) as error:
        Pause(at(9, 20), at(9, 20), "x")
    assert error.value.field == "resumed_at"
    with pytest.raises(DocumentationInputError) as error:
        Pause(at(9, 20), at(9, 25), "")
    assert error.value.field == "reason"


def test_administration_is_recorded_after_the_infusion_and_before_discharge():
    order = make_order()
    with pytest.raises(TransitionNotAllowed):
        s.record_administration(infusing(order), order, administration(), SETTINGS)
    with pytest.raises(TransitionNotAllowed):
        s.record_administration(discharged(order), order, administration(), SETTINGS)
    aborted = s.abort(infusing(order), "emergence reaction", NURSE, at(9, 30))
    record = administration(stopped_at=at(9, 30), dose_discrepancy_reason="stopped: emergence reaction")
    assert s.record_administration(aborted, order, record, SETTINGS).administration.total_mg == pytest.approx(20.0)
