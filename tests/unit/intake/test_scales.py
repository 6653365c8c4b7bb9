import pytest

from services.intake.domain.errors import IntakeInputError
from services.intake.domain.scales import MadrsRating, Phq9Response

from .builders import T0
from tests.unit.intake.builders import ADA


class TestPhq9:
    def test_total_is_computed_from_the_items(self):
        phq9 = Phq9Response.checked([2, 3, 2, 2, 1, 2, 2, 1, 0], T0)
        assert phq9.total_score == 15
        assert not phq9.suicidality_flag

    def test_item9_above_zero_is_a_suicidality_flag(self):
        assert Phq9Response.checked([0, 0, 0, 0, 0, 0, 0, 0, 1], T0).suicidality_flag
        assert Phq9Response.checked([3] * 9, T0).total_score == 27

    def test_missing_item_names_it(self):
        with pytest.raises(IntakeInputError) as error:
            Phq9Response.checked([1, 1, 1, None, 1, 1, 1, 1, 1], T0)
        assert error.value.field == "phq9.items[3]"
        assert "item 4" in error.value.message

    def test_short_list_names_the_first_missing_item(self):
        with pytest.raises(IntakeInputError) as error:
            Phq9Response.checked([1] * 8, T0)
        assert error.value.field == "phq9.items[8]"

    @pytest.mark.parametrize("bad, message", [(4, "outside 0-3"), (-1, "outside 0-3"), (1.5, "integer"),
                                              (True, "integer"), ("2", "integer")])
    def test_out_of_range_or_non_integer_item_is_refused(self, bad, message):
        items = [0] * 9
        items[2] = bad
        with pytest.raises(IntakeInputError, match=message) as error:
            Phq9Response.checked(items, T0)
        assert error.value.field == "phq9.items[2]"

    def test_too_many_items_is_refused(self):
        with pytest.raises(IntakeInputError) as error:
            Phq9Response.checked([0] * 10, T0)
        assert error.value.field == "phq9.items"

    def test_answer_time_needs_a_timezone(self):
        from datetime import datetime
        with pytest.raises(IntakeInputError) as error:
            Phq9Response.checked([0] * 9, datetime(2026, 3, 2))
        assert error.value.field == "phq9.answered_at"


class TestMadrs:
    def test_total_is_computed_from_ten_items(self):
        madrs = MadrsRating.checked([4, 4, 3, 3, 2, 3, 3, 4, 3, 1], T0, ADA)
        assert madrs.total_score == 30
        assert MadrsRating.checked([6] * 10, T0).total_score == 60

    def test_item_above_six_is_refused(self):
        with pytest.raises(IntakeInputError) as error:
            MadrsRating.checked([0] * 9 + [7], T0)
        assert error.value.field == "madrs.items[9]"

    def test_missing_tenth_item_is_named(self):
        with pytest.raises(IntakeInputError) as error:
            MadrsRating.checked([2] * 9, T0)
        assert error.value.field == "madrs.items[9]" and "item 10" in error.value.message
