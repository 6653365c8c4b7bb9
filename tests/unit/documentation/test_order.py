import pytest

from services.documentation.domain import session as s
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.order import ActiveOrder, OccurrenceStatus, OrderStatus, ScheduledOccurrence

from .builders import NURSE, at, make_order


def test_order_derives_volume_concentration_and_dosing_weight():
    order = make_order()
    assert order.ordered_volume_ml == pytest.approx(50.0)  # 75 mL/h x 40 min
    assert order.concentration_mg_per_ml == pytest.approx(0.8)  # 40 mg in 50 mL
    assert order.dosing_weight_kg == pytest.approx(80.0)  # 40 mg / 0.5 mg/kg


def test_order_needs_one_window_per_infusion_in_order():
    order = make_order()
    with pytest.raises(DocumentationInputError) as error:
        make_order(occurrences=order.occurrences[:5])
    assert error.value.field == "occurrences"
    swapped = (order.occurrences[1],) + (order.occurrences[0],) + order.occurrences[2:]
    with pytest.raises(DocumentationInputError) as error:
        make_order(occurrences=swapped)
    assert error.value.field == "occurrences[0].number"


def test_window_end_must_follow_start():
    with pytest.raises(DocumentationInputError) as error:
        ScheduledOccurrence(1, at(11), at(9))
    assert error.value.field == "window_end"


def test_order_round_trips_through_json_dict():
    order = make_order()
    assert ActiveOrder.from_dict(order.to_dict()) == order
    assert order.to_dict()["occurrences"][0]["window_start"] == "2026-03-02T09:00:00+01:00"


def test_sessions_are_created_per_scheduled_occurrence_with_stable_ids():
    order = make_order()
    cancelled = order.occurrences[2]
    order = make_order(
        occurrences=order.occurrences[:2]
        + (ScheduledOccurrence(3, cancelled.window_start, cancelled.window_end, OccurrenceStatus.CANCELLED),)
        + order.occurrences[3:]
    )
    sessions = s.sessions_for_order(order)
    assert [x.session_id for x in sessions] == ["ord-1-1", "ord-1-2", "ord-1-4", "ord-1-5", "ord-1-6"]
    assert sessions[1].scheduled_start == at(9, 0, day=5)
    assert all(x.status is s.SessionStatus.SCHEDULED and x.patient_id == "pat-42" for x in sessions)
    assert s.sessions_for_order(order) == sessions  # redelivered event → same sessions
    with pytest.raises(TransitionNotAllowed, match="cancelled"):
        s.create_session(order, 3)
    with pytest.raises(DocumentationInputError):
        s.create_session(order, 7)


def test_changed_order_moves_only_a_session_not_yet_started():
    order = make_order()
    session = s.create_session(order, 2)
    moved = make_order(
        occurrences=(order.occurrences[0], ScheduledOccurrence(2, at(13, 0, day=6), at(15, 0, day=6)))
        + order.occurrences[2:]
    )
    updated = s.apply_order_update(session, moved)
    assert (updated.scheduled_start, updated.scheduled_end) == (at(13, 0, day=6), at(15, 0, day=6))
    started = s.check_in(session, order, NURSE, at(9, 0, day=5))
    assert s.apply_order_update(started, moved) is started


def test_check_in_refuses_an_order_on_hold_or_of_another_series():
    order = make_order(status=OrderStatus.ON_HOLD)
    session = s.create_session(order, 1)
    with pytest.raises(TransitionNotAllowed) as error:
        s.check_in(session, order, "RN", at(9))
    assert error.value.reason == "order ord-1 is on-hold"
    with pytest.raises(DocumentationInputError) as error:
        s.check_in(session, make_order(order_id="ord-2"), "RN", at(9))
    assert error.value.field == "order.order_id"
