"""What the course reads from the intake's ``intake-eligibility-decided``: the baseline QuestionnaireResponses (an
unreadable one skipped and named)."""
from __future__ import annotations

from datetime import timedelta

from services.intake.domain.scales import Phq9Response
from services.intake.translators.questionnaire_response_scales_out import phq9_questionnaire_response
from services.orders.course.domain.settings import CourseSettings
from services.orders.course.translators.intake_baseline_in import baseline_scales
from tests.unit.orders.course.builders import START


def test_the_intakes_baseline_is_read_and_an_unreadable_response_skipped():
    answered = START - timedelta(days=4)
    good = phq9_questionnaire_response(Phq9Response((2, 2, 2, 2, 2, 2, 2, 2, 0), answered), "patient-1", "intake-7")
    bad = {**good, "identifier": {**good["identifier"], "value": "intake-7-phq-9-bis"},
           "item": good["item"][:5]}
    other_patient = phq9_questionnaire_response(Phq9Response((1,) * 8 + (0,), answered), "patient-2", "intake-7")
    scales = baseline_scales([good, bad, other_patient], "patient-1", CourseSettings())
    [score] = scales.scores
    assert (score.measurement_id, score.total_score, score.context.value) == ("intake-7-phq-9", 16, "baseline")
    assert len(scales.unreadable) == 1 and "44258-2" in scales.unreadable[0]
