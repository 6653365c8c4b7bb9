"""shared/scales.py: every instrument scored from its items, ranges enforced, errors naming the item."""
import pytest

from shared.scales import (
    DEFINITIONS,
    SEVERITY_BANDS,
    CssrsItem,
    CssrsRisk,
    Scale,
    ScaleError,
    checked_cssrs_answers,
    checked_items,
    cssrs_risk,
    severity_band,
    suicidality_item_score,
    total_score,
    validate_cssrs_risk_items,
    DEFAULT_CSSRS_HIGH_RISK_ITEMS,
    DEFAULT_CSSRS_MODERATE_RISK_ITEMS,
)


@pytest.mark.parametrize("scale, count, item_max, total_max", [
    (Scale.PHQ9, 9, 3, 27), (Scale.GAD7, 7, 3, 21), (Scale.MADRS, 10, 6, 60), (Scale.QIDS_SR16, 16, 3, 27),
])
def test_ranges_follow_the_instruments(scale, count, item_max, total_max):
    definition = DEFINITIONS[scale]
    assert (definition.item_count, definition.item_max, definition.total_max) == (count, item_max, total_max)
    assert total_score(scale, [0] * count) == 0
    assert total_score(scale, [item_max] * count) == total_max


def test_sums_for_phq9_gad7_and_madrs():
    assert total_score(Scale.PHQ9, [2, 3, 2, 2, 1, 2, 2, 1, 0]) == 15
    assert total_score(Scale.GAD7, [1, 2, 3, 0, 1, 2, 3]) == 12
    assert total_score(Scale.MADRS, [4, 4, 3, 3, 2, 3, 3, 4, 3, 1]) == 30


def test_qids_sr16_counts_the_highest_item_of_sleep_appetite_and_psychomotor_domains():
    items = [1, 3, 0, 2,  # sleep → 3
             2,  # sad mood
             0, 2, 1, 3,  # appetite / weight → 3
             1, 2, 3, 1, 2,  # concentration, self-view, suicide, interest, energy
             1, 2]  # psychomotor → 2
    assert total_score(Scale.QIDS_SR16, items) == 3 + 2 + 3 + 1 + 2 + 3 + 1 + 2 + 2
    assert total_score(Scale.QIDS_SR16, [3] * 4 + [0] * 12) == 3  # four sleep items count once


def test_suicidality_items():
    assert suicidality_item_score(Scale.PHQ9, [0] * 8 + [2]) == 2
    assert suicidality_item_score(Scale.MADRS, [0] * 9 + [4]) == 4
    assert suicidality_item_score(Scale.QIDS_SR16, [0] * 11 + [1] + [0] * 4) == 1
    assert suicidality_item_score(Scale.GAD7, [3] * 7) is None


class TestItemErrors:
    def test_a_missing_item_is_named_by_its_index_and_number(self):
        with pytest.raises(ScaleError) as error:
            checked_items(Scale.PHQ9, [1, 1, 1, None, 1, 1, 1, 1, 1])
        assert (error.value.field, error.value.message) == ("items[3]", "item 4 is required and missing")

    def test_a_short_list_names_the_first_missing_item(self):
        with pytest.raises(ScaleError) as error:
            checked_items(Scale.QIDS_SR16, [0] * 15)
        assert error.value.field == "items[15]" and "item 16" in error.value.message

    @pytest.mark.parametrize("bad, message", [(7, "item 3 score 7 is outside 0-6"), (-1, "outside 0-6"),
                                              (2.0, "integer"), (True, "integer"), ("2", "integer")])
    def test_out_of_range_and_non_integers_are_refused(self, bad, message):
        items = [0] * 10
        items[2] = bad
        with pytest.raises(ScaleError, match=message) as error:
            checked_items(Scale.MADRS, items)
        assert error.value.field == "items[2]"

    def test_too_many_items_or_not_a_list(self):
        with pytest.raises(ScaleError, match="expected 7 items, got 8"):
            checked_items(Scale.GAD7, [0] * 8)
        with pytest.raises(ScaleError, match="expected a list of 7 item scores"):
            checked_items(Scale.GAD7, "0000000")

    def test_total_score_checks_first(self):
        with pytest.raises(ScaleError):
            total_score(Scale.PHQ9, [4] * 9)


NO = {"wish-to-be-dead": False, "suicidal-thoughts": False, "suicidal-behaviour-lifetime": False}


class TestCssrs:
    def test_answers_come_back_in_screener_order_with_unasked_items_left_out(self):
        answers = checked_cssrs_answers({"suicidal-behaviour-lifetime": False, "wish-to-be-dead": True,
                                         "suicidal-thoughts": False, "ideation-with-method": None})
        assert [(a.item, a.answer) for a in answers] == [
            (CssrsItem.WISH_TO_BE_DEAD, True), (CssrsItem.SUICIDAL_THOUGHTS, False),
            (CssrsItem.SUICIDAL_BEHAVIOUR_LIFETIME, False)]

    @pytest.mark.parametrize("answers, field, message", [
        ({"wish-to-be-dead": False}, "suicidal-thoughts", "required item is missing"),
        ({**NO, "suicidal-thoughts": True}, "ideation-with-method", "required when suicidal-thoughts is yes"),
        ({**NO, "suicidal-behaviour-past-3-months": True}, "suicidal-behaviour-past-3-months",
         "answered yes although suicidal-behaviour-lifetime is no"),
        ({**NO, "feels-sad": True}, "feels-sad", "is not one of"),
        ({**NO, "wish-to-be-dead": "yes"}, "wish-to-be-dead", "answer must be yes"),
    ])
    def test_skip_logic_errors_name_the_item(self, answers, field, message):
        with pytest.raises(ScaleError, match=message) as error:
            checked_cssrs_answers(answers)
        assert error.value.field == field

    def test_risk_by_configured_items(self):
        def risk(**yes):
            given = {CssrsItem(key.replace("_", "-")): value for key, value in yes.items()}
            return cssrs_risk(given, DEFAULT_CSSRS_HIGH_RISK_ITEMS, DEFAULT_CSSRS_MODERATE_RISK_ITEMS)
        assert risk(wish_to_be_dead=False) is CssrsRisk.NONE
        assert risk(wish_to_be_dead=True) is CssrsRisk.LOW
        assert risk(suicidal_thoughts=True, ideation_with_method=True) is CssrsRisk.MODERATE
        assert risk(suicidal_thoughts=True, ideation_with_intent=True) is CssrsRisk.HIGH
        assert CssrsRisk.HIGH.rank > CssrsRisk.MODERATE.rank > CssrsRisk.LOW.rank > CssrsRisk.NONE.rank

    def test_configured_items_are_checked(self):
        validate_cssrs_risk_items(DEFAULT_CSSRS_HIGH_RISK_ITEMS, DEFAULT_CSSRS_MODERATE_RISK_ITEMS)
        with pytest.raises(ValueError, match="unknown items"):
            validate_cssrs_risk_items(("feels-sad",), ())
        with pytest.raises(ValueError, match="both high and moderate"):
            validate_cssrs_risk_items(("wish-to-be-dead",), ("wish-to-be-dead",))

    def test_a_clinic_may_rank_an_item_higher_than_columbia_but_never_lower(self):
        stricter = DEFAULT_CSSRS_HIGH_RISK_ITEMS + ("ideation-with-method",)
        validate_cssrs_risk_items(stricter, ("suicidal-behaviour-lifetime", "suicidal-thoughts"))
        with pytest.raises(ValueError, match="high-risk items .*ideation-with-plan-and-intent"):
            validate_cssrs_risk_items(("ideation-with-intent", "suicidal-behaviour-past-3-months"),
                                      DEFAULT_CSSRS_MODERATE_RISK_ITEMS + ("ideation-with-plan-and-intent",))
        with pytest.raises(ValueError, match="high-risk items"):
            validate_cssrs_risk_items((), ())  # every screen would score low and pass unreviewed
        with pytest.raises(ValueError, match="moderate-risk items .*ideation-with-method"):
            validate_cssrs_risk_items(DEFAULT_CSSRS_HIGH_RISK_ITEMS, ("suicidal-behaviour-lifetime",))


# --- severity bands (issue 13 defect 17) -----------------------------------------------------------------------


@pytest.mark.parametrize("scale, total, label", [
    # PHQ-9 (Kroenke 2001): every boundary and the ends.
    (Scale.PHQ9, 0, "minimal"), (Scale.PHQ9, 4, "minimal"), (Scale.PHQ9, 5, "mild"), (Scale.PHQ9, 9, "mild"),
    (Scale.PHQ9, 10, "moderate"), (Scale.PHQ9, 14, "moderate"), (Scale.PHQ9, 15, "moderately severe"),
    (Scale.PHQ9, 19, "moderately severe"), (Scale.PHQ9, 20, "severe"), (Scale.PHQ9, 27, "severe"),
    # GAD-7 (Spitzer 2006).
    (Scale.GAD7, 0, "minimal"), (Scale.GAD7, 4, "minimal"), (Scale.GAD7, 5, "mild"), (Scale.GAD7, 9, "mild"),
    (Scale.GAD7, 10, "moderate"), (Scale.GAD7, 14, "moderate"), (Scale.GAD7, 15, "severe"), (Scale.GAD7, 21, "severe"),
    # MADRS (CLINICAL.md).
    (Scale.MADRS, 0, "normal"), (Scale.MADRS, 6, "normal"), (Scale.MADRS, 7, "mild"), (Scale.MADRS, 19, "mild"),
    (Scale.MADRS, 20, "moderate"), (Scale.MADRS, 34, "moderate"), (Scale.MADRS, 35, "severe"),
    (Scale.MADRS, 60, "severe"),
])
def test_severity_band_boundaries(scale, total, label):
    assert severity_band(scale, total).label == label


def test_the_bands_of_each_scale_cover_its_whole_range_without_gaps_or_overlaps():
    for scale, bands in SEVERITY_BANDS.items():
        assert bands[0].low == 0 and bands[-1].high == DEFINITIONS[scale].total_max
        assert all(a.high + 1 == b.low for a, b in zip(bands, bands[1:])), scale


@pytest.mark.parametrize("scale, total", [(Scale.PHQ9, -1), (Scale.PHQ9, 28), (Scale.GAD7, 22), (Scale.MADRS, 61),
                                          (Scale.MADRS, True), (Scale.PHQ9, 4.5)])
def test_a_total_outside_the_scale_is_refused_not_banded(scale, total):
    with pytest.raises(ScaleError):
        severity_band(scale, total)


def test_qids_sr16_has_no_bands():
    assert severity_band(Scale.QIDS_SR16, 12) is None


def test_a_band_reads_with_its_scale_and_range():
    assert severity_band(Scale.PHQ9, 17).text == "moderately severe (PHQ-9 15-19)"
