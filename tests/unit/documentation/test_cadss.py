import pytest

from services.documentation.domain import session as s
from services.documentation.domain.cadss import CadssAssessment, CadssForm
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.settings import SessionSettings

from .builders import NURSE, SETTINGS, at, infusing, pre_checked, recovering

FULL_SCORES = (1, 2, 0, 0, 1, 3, 2, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 2, 0)  # total 15


def test_full_form_totals_23_items_out_of_92():
    rating = CadssAssessment("c1", CadssForm.FULL, FULL_SCORES, at(9, 50), NURSE, scheduled_minute=40)
    assert rating.total == 15 and CadssForm.FULL.max_total == 92
    assert rating.item_scores_by_number[6] == 3 and rating.item_scores_by_number[22] == 2


def test_short_form_uses_items_1_2_6_7_15_22():
    rating = CadssAssessment("c1", CadssForm.SHORT, (1, 2, 3, 2, 2, 2), at(9, 50), NURSE)
    assert list(rating.item_scores_by_number) == [1, 2, 6, 7, 15, 22]
    assert rating.total == 12 and CadssForm.SHORT.max_total == 24
    assert rating.timepoint_text() == "unscheduled"


def test_wrong_number_of_scores_is_refused():
    with pytest.raises(DocumentationInputError) as error:
        CadssAssessment("c1", CadssForm.SHORT, FULL_SCORES, at(9, 50), NURSE)
    assert error.value.field == "item_scores" and "6 items, got 23" in error.value.message


@pytest.mark.parametrize("bad", [5, -1, True])
def test_item_scores_are_0_to_4_and_the_error_names_the_item(bad):
    scores = (0, 0, 0, bad, 0, 0)
    with pytest.raises(DocumentationInputError) as error:
        CadssAssessment("c1", CadssForm.SHORT, scores, at(9, 50), NURSE)
    assert error.value.field == "item_scores[3]" and error.value.message.startswith("item 7")


def test_rating_is_recorded_after_start_at_a_configured_time_once():
    session = infusing()
    with pytest.raises(TransitionNotAllowed):
        s.record_cadss(pre_checked(), CadssAssessment("c0", CadssForm.SHORT, (0,) * 6, at(9, 8), NURSE), SETTINGS)
    with pytest.raises(DocumentationInputError) as error:
        s.record_cadss(session, CadssAssessment("c0", CadssForm.SHORT, (0,) * 6, at(9, 5), NURSE), SETTINGS)
    assert error.value.field == "cadss.assessed_at"
    with pytest.raises(DocumentationInputError) as error:
        s.record_cadss(
            session, CadssAssessment("c1", CadssForm.SHORT, (0,) * 6, at(9, 40), NURSE, scheduled_minute=30), SETTINGS
        )
    assert error.value.field == "cadss.scheduled_minute"
    rated = s.record_cadss(
        session, CadssAssessment("c1", CadssForm.SHORT, (0,) * 6, at(9, 50), NURSE, scheduled_minute=40), SETTINGS
    )
    with pytest.raises(DocumentationInputError, match="already rated"):
        s.record_cadss(
            rated, CadssAssessment("c2", CadssForm.SHORT, (1,) * 6, at(9, 52), NURSE, scheduled_minute=40), SETTINGS
        )
    corrected = s.record_cadss(
        rated, CadssAssessment("c1", CadssForm.SHORT, (1,) * 6, at(9, 50), NURSE, scheduled_minute=40), SETTINGS
    )
    assert [c.total for c in corrected.cadss] == [6]
    extra = s.record_cadss(corrected, CadssAssessment("c3", CadssForm.FULL, FULL_SCORES, at(9, 52), NURSE), SETTINGS)
    assert len(extra.cadss) == 2
    assert (
        s.record_cadss(
            session,
            CadssAssessment("c4", CadssForm.SHORT, (0,) * 6, at(9, 30), NURSE, scheduled_minute=20),
            SessionSettings(cadss_minutes_after_start=(20, 40)),
        )
        .cadss[0]
        .scheduled_minute
        == 20
    )


def test_end_of_recovery_rating_needs_the_infusion_ended():
    rating = CadssAssessment("c9", CadssForm.SHORT, (0,) * 6, at(9, 40), NURSE, end_of_recovery=True)
    with pytest.raises(DocumentationInputError) as error:
        s.record_cadss(infusing(), rating, SETTINGS)
    assert error.value.field == "cadss.end_of_recovery"
    assert s.record_cadss(recovering(), rating, SETTINGS).cadss[0].timepoint_text() == "end of recovery"
    with pytest.raises(DocumentationInputError):
        CadssAssessment("c9", CadssForm.SHORT, (0,) * 6, at(9, 40), NURSE, scheduled_minute=40, end_of_recovery=True)
