"""The one set of input checks and the one input-error base (issue 14 item 4): every service's checks raise its own
input error, which the web layers answer as the base."""
from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from shared.checks import FieldChecks
from shared.errors import FhirMappingError, FieldInputError, Violation, input_field, raise_if_any


class ServiceInputError(FieldInputError):
    pass


class StateError(ServiceInputError):
    def __init__(self, message: str, field: str = "status"):  # a subclass with its own constructor
        super().__init__(field, message)


CHECKS = FieldChecks(ServiceInputError)
AWARE = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("check", "value", "extra"), [
    ("require_aware", datetime(2026, 3, 2, 9, 0), ()),
    ("require_aware", "2026-03-02T09:00:00Z", ()),
    ("require_text", "   ", ()),
    ("require_text", None, ()),
    ("optional_text", 3, ()),
    ("require_number", math.nan, ()),
    ("require_number", True, ()),
    ("require_positive", 0, ()),
    ("require_positive", -1.5, ()),
    ("require_positive", math.inf, ()),
    ("require_count", 0, (1, 12, "infusions")),
    ("require_count", 2.0, (1, 12, "infusions")),
])
def test_each_check_refuses_with_the_services_error_naming_the_field(check: str, value: object,
                                                                       extra: tuple[object, ...]) -> None:
    with pytest.raises(ServiceInputError) as refused:
        getattr(CHECKS, check)(value, "where.it[1]", *extra)
    assert refused.value.field == "where.it[1]" and refused.value.message


def test_each_check_returns_the_accepted_value() -> None:
    assert CHECKS.require_aware(AWARE, "at") is AWARE
    assert CHECKS.require_text("  note ", "note") == "note"
    assert CHECKS.optional_text("  ", "note") is None and CHECKS.optional_text(None, "note") is None
    assert CHECKS.require_number(-2, "n") == -2.0
    assert CHECKS.require_positive(0.5, "n") == 0.5
    assert CHECKS.require_count(6, "count", 1, 12, "infusions") == 6


def test_the_bound_functions_are_the_checks_in_their_order() -> None:
    aware, text, optional, number, positive, count = CHECKS.functions()
    assert aware(AWARE, "at") is AWARE and text(" a ", "f") == "a" and optional(None, "f") is None
    assert number(1, "f") == 1.0 and positive(2, "f") == 2.0 and count(3, "f", 1, 5, "x") == 3


def test_under_prefixes_the_field_and_keeps_the_class() -> None:
    error = StateError("the course is stopped")
    moved = error.under("course")
    assert type(moved) is StateError and moved.field == "course.status" and moved.message == error.message
    assert ServiceInputError("[2].dose", "too high").under("items").field == "items[2].dose"
    assert error.under("") is error


def test_input_field_reraises_with_the_prefix() -> None:
    with pytest.raises(ServiceInputError) as refused, input_field("vitals"):
        CHECKS.require_positive(0, "systolic_mmhg")
    assert refused.value.field == "vitals.systolic_mmhg"


def test_raise_if_any_carries_every_violation_and_nothing_when_none() -> None:
    raise_if_any([], ServiceInputError)
    violations = [Violation("a", "one"), Violation("b", "two")]
    with pytest.raises(ServiceInputError) as refused:
        raise_if_any(violations, ServiceInputError)
    assert refused.value.field == "a" and refused.value.violations == tuple(violations)


def test_a_mapping_error_is_an_input_error() -> None:
    assert issubclass(FhirMappingError, FieldInputError) and issubclass(FieldInputError, ValueError)


def test_require_member_takes_a_member_or_its_value_and_lists_the_allowed_ones() -> None:
    import enum

    class Colour(enum.Enum):
        RED = "red"
        BLUE = "blue"

    assert CHECKS.require_member(Colour, Colour.RED, "colour") is Colour.RED
    assert CHECKS.require_member(Colour, "blue", "colour") is Colour.BLUE
    for wrong in ("green", None, {"a": 1}):
        with pytest.raises(ServiceInputError) as refused:
            CHECKS.require_member(Colour, wrong, "colour")
        assert refused.value.field == "colour" and "red, blue" in refused.value.message
