"""Every outcome rule, with the edge cases: missing baseline, baseline of 0, a rescored questionnaire, exact
thresholds, the clinic's own remission threshold, loss of response only after a response, relapse only after
remission."""
from dataclasses import replace
from datetime import timedelta

import pytest

from services.orders.course.domain.course import record_clinical_event, record_score
from services.orders.course.domain.measurements import ScoreContext, ScoreSource, scale_score
from services.orders.course.domain.model import ClinicalEvent, ClinicalEventKind
from services.orders.course.domain.outcomes import (
    GoalAchievement,
    RemissionStatus,
    ResponseStatus,
    course_outcome,
    evaluate_scale,
    goal_achievement,
)
from services.orders.course.domain.rules import ResponseRule, drop_pct
from shared.scales import Scale

from shared.people import Person
from tests.unit.orders.course.builders import (
    START,
    give,
    infusion_time,
    new_course,
    phq9,
    protocol,
    settings,
)
from tests.unit.orders.builders import PRESCRIBER

DAY = timedelta(days=1)


def follow_up(course, measurement_id, total, at, course_settings=None, **kwargs):
    score = phq9(measurement_id, total, at, ScoreContext.FOLLOW_UP, **kwargs)
    return record_score(course, score, course_settings or settings(), protocol())


def induction(totals, course_settings=None):
    """Six induction infusions with a pre-infusion PHQ-9 total for each given number."""
    return give(new_course(course_settings), range(1, 7), course_settings, phq9_totals=totals)


class TestBaseline:
    def test_the_baseline_is_the_latest_score_before_the_first_infusion(self):
        course = record_score(new_course(), phq9("screening", 22, START - 3 * DAY, ScoreContext.BASELINE),
                              settings(), protocol())
        course = give(course, [1, 2], phq9_totals={1: 20, 2: 15})
        outcome = course_outcome(course, settings())
        assert outcome.baseline.measurement_id == "phq9-pre-1" and outcome.baseline.total == 20
        assert [outcome.last.total, outcome.last.infusions_before] == [15, 1]

    def test_a_score_taken_after_treatment_began_is_never_the_baseline(self):
        course = give(new_course(), [1, 2])
        course = record_score(course, phq9("late", 20, infusion_time(2) + DAY, ScoreContext.BASELINE), settings(),
                              protocol())
        outcome = course_outcome(course, settings())
        assert outcome.baseline is None
        assert outcome.response is ResponseStatus.UNDETERMINED
        assert outcome.reasons == ("no baseline PHQ-9 at or before the first infusion",)

    def test_without_a_baseline_remission_is_still_judged_on_the_last_score(self):
        course = follow_up(give(new_course(), [1, 2]), "f1", 4, infusion_time(2) + DAY)
        outcome = course_outcome(course, settings())
        assert outcome.response is ResponseStatus.UNDETERMINED
        assert outcome.remission is RemissionStatus.REMISSION
        assert outcome.last_drop_pct is None

    def test_a_baseline_of_zero_leaves_response_undetermined(self):
        outcome = course_outcome(induction({1: 0, 3: 0, 6: 2}), settings())
        assert outcome.response is ResponseStatus.UNDETERMINED
        assert "baseline PHQ-9 is 0: a drop from baseline cannot be measured" in outcome.reasons
        assert outcome.remission is RemissionStatus.REMISSION  # 2 < 5
        assert outcome.first_response is None and outcome.relapses == ()
        assert drop_pct(0, 2) is None and ResponseRule(50).met(0, 0) is None

    def test_only_a_baseline_so_far(self):
        outcome = course_outcome(give(new_course(), [1], phq9_totals={1: 18}), settings())
        assert (outcome.response, outcome.remission) == (ResponseStatus.UNDETERMINED, RemissionStatus.UNDETERMINED)
        assert outcome.reasons == ("no PHQ-9 since the baseline",)

    def test_nothing_recorded(self):
        outcome = course_outcome(new_course(), settings())
        assert outcome.baseline is None and outcome.last is None
        assert "no PHQ-9 recorded" in outcome.reasons


class TestResponse:
    @pytest.mark.parametrize("baseline, last, status", [
        (20, 10, ResponseStatus.RESPONSE),  # exactly 50%
        (20, 11, ResponseStatus.NO_RESPONSE),  # 45%
        (21, 10, ResponseStatus.RESPONSE),  # 52.4%
        (21, 11, ResponseStatus.NO_RESPONSE),  # 47.6%: 10.5 is not reached
        (9, 4, ResponseStatus.RESPONSE),  # 55.6%
        (12, 14, ResponseStatus.NO_RESPONSE),  # worse
    ])
    def test_response_is_a_drop_of_at_least_half_the_baseline(self, baseline, last, status):
        outcome = course_outcome(induction({1: baseline, 6: last}), settings())
        assert outcome.response is status
        assert outcome.last_drop_pct == drop_pct(baseline, last)

    def test_the_clinic_threshold_is_part_of_the_rule(self):
        strict = settings(response_min_drop_pct=60.0)
        outcome = course_outcome(induction({1: 20, 6: 10}, strict), strict)
        assert outcome.response is ResponseStatus.NO_RESPONSE
        assert outcome.response_rule.text == "≥ 60% drop from baseline"

    def test_best_last_and_the_first_response_with_the_infusions_before_it(self):
        outcome = course_outcome(induction({1: 24, 2: 20, 3: 14, 4: 11, 5: 9, 6: 12}), settings())
        assert (outcome.baseline.total, outcome.best.total, outcome.last.total) == (24, 9, 12)
        assert outcome.first_response.measurement_id == "phq9-pre-4"  # 11 ≤ 12
        assert outcome.first_response.infusions_before == 3
        assert outcome.response is ResponseStatus.RESPONSE and outcome.responded

    def test_a_rescored_baseline_changes_the_outcome(self):
        course = induction({1: 16, 6: 9})
        assert course_outcome(course, settings()).response is ResponseStatus.NO_RESPONSE  # 43.75%
        rescored = phq9("phq9-pre-1", 18, infusion_time(1) - timedelta(minutes=30), session_id="session-1")
        course = record_score(course, rescored, settings(), protocol())
        outcome = course_outcome(course, settings())
        assert outcome.baseline.total == 18 and outcome.response is ResponseStatus.RESPONSE
        assert [s.rescored for s in course.scores if s.measurement_id == "phq9-pre-1"] == [True]
        assert len(course.scores) == 2

    def test_a_rescored_follow_up_replaces_its_answers(self):
        course = follow_up(induction({1: 20}), "visit-1", 12, infusion_time(6) + DAY)
        course = follow_up(course, "visit-1", 8, infusion_time(6) + DAY)
        outcome = course_outcome(course, settings())
        assert outcome.last.total == 8 and outcome.response is ResponseStatus.RESPONSE

    def test_the_same_answers_again_change_nothing(self):
        course = induction({1: 20, 6: 9})
        again = phq9("phq9-pre-6", 9, infusion_time(6) - timedelta(minutes=30), session_id="session-6")
        assert record_score(course, again, settings(), protocol()) is course


class TestRemission:
    @pytest.mark.parametrize("last, status", [(4, RemissionStatus.REMISSION), (5, RemissionStatus.NO_REMISSION)])
    def test_phq9_below_5(self, last, status):
        assert course_outcome(induction({1: 20, 6: last}), settings()).remission is status

    @pytest.mark.parametrize("threshold, last, status", [
        (10.0, 10, RemissionStatus.REMISSION), (10.0, 11, RemissionStatus.NO_REMISSION),
        (12.0, 12, RemissionStatus.REMISSION), (12.0, 13, RemissionStatus.NO_REMISSION),
    ])
    def test_madrs_at_most_the_clinics_threshold(self, threshold, last, status):
        clinic = settings(madrs_remission_score=threshold)
        baseline = scale_score("madrs-0", Scale.MADRS, [4] * 8 + [0, 0], START - DAY, ScoreSource.CLINICIAN,
                               ScoreContext.BASELINE, recorded_by=Person("Practitioner/dr-rater", "Dr Rater"))
        items = [min(6, max(0, last - 6 * k)) for k in range(9)] + [0]
        later = scale_score("madrs-1", Scale.MADRS, items, START + 20 * DAY, ScoreSource.CLINICIAN,
                            ScoreContext.FOLLOW_UP)
        outcome = evaluate_scale([baseline, later], [START], Scale.MADRS, clinic)
        assert outcome.last.total == last
        assert outcome.remission is status
        assert outcome.remission_rule.text == f"MADRS ≤ {threshold:g}"

    def test_a_scale_without_a_clinic_rule_has_no_remission(self):
        gad7 = [scale_score(f"gad-{n}", Scale.GAD7, [n] * 7, START + n * DAY, ScoreSource.PATIENT_LINK,
                            ScoreContext.PRE_INFUSION if n == 0 else ScoreContext.FOLLOW_UP) for n in (0, 1)]
        outcome = evaluate_scale(gad7, [START + DAY / 2], Scale.GAD7, settings())
        assert outcome.remission is RemissionStatus.UNDETERMINED
        assert "the clinic has no remission rule for GAD-7" in outcome.reasons
        assert outcome.response is ResponseStatus.UNDETERMINED  # baseline 0

    def test_qids_sr16_is_scored_by_its_domains(self):
        baseline_items = [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 3, 3, 3, 3]  # 24: sleep, appetite, psychomotor once
        later_items = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]  # 3
        scores = [scale_score("q0", Scale.QIDS_SR16, baseline_items, START - DAY, ScoreSource.PATIENT_LINK,
                              ScoreContext.BASELINE),
                  scale_score("q1", Scale.QIDS_SR16, later_items, START + 14 * DAY, ScoreSource.PATIENT_LINK,
                              ScoreContext.FOLLOW_UP)]
        outcome = evaluate_scale(scores, [START], Scale.QIDS_SR16, settings())
        assert (outcome.baseline.total, outcome.last.total) == (24, 3)
        assert (outcome.response, outcome.remission) == (ResponseStatus.RESPONSE, RemissionStatus.REMISSION)


class TestLossOfResponse:
    """Issue 13 defect 14: what was called "relapse" is a loss of response (no remission needed)."""

    def after_response(self, *totals):
        course = induction({1: 20, 6: 8})
        for n, total in enumerate(totals, start=1):
            course = follow_up(course, f"m{n}", total, infusion_time(6) + n * 7 * DAY)
        return course_outcome(course, settings())

    def test_two_consecutive_scores_without_a_response_after_a_response_are_a_loss_of_response(self):
        outcome = self.after_response(9, 12, 14)
        assert [p.measurement_id for p in outcome.losses_of_response] == ["m3"]
        assert outcome.response_lost and outcome.response is ResponseStatus.NO_RESPONSE
        assert outcome.relapses == () and not outcome.in_relapse  # never in remission (PHQ-9 8): not a relapse

    def test_one_bad_score_between_good_ones_is_not_a_loss_of_response(self):
        outcome = self.after_response(12, 9, 13, 10)
        assert outcome.losses_of_response == () and not outcome.response_lost

    def test_a_new_response_ends_the_loss_and_a_second_loss_counts_again(self):
        outcome = self.after_response(12, 13, 9, 15, 16)
        assert [p.measurement_id for p in outcome.losses_of_response] == ["m2", "m5"] and outcome.response_lost
        assert not self.after_response(12, 13, 9).response_lost

    def test_no_loss_of_response_without_a_response_first(self):
        course = induction({1: 20, 3: 14, 6: 15})
        course = follow_up(course, "m1", 16, infusion_time(6) + 7 * DAY)
        outcome = course_outcome(course, settings())
        assert not outcome.responded and outcome.losses_of_response == () and not outcome.response_lost

    def test_the_clinic_sets_how_many_scores_confirm_a_loss_of_response(self):
        one = settings(loss_of_response_consecutive_scores=1)
        course = follow_up(induction({1: 20, 6: 8}, one), "m1", 12, infusion_time(6) + 7 * DAY, one)
        assert len(course_outcome(course, one).losses_of_response) == 1

    def test_the_rule_is_named_loss_of_response(self):
        outcome = self.after_response(9)
        assert outcome.loss_of_response_rule.text == ("2 consecutive scores with < 50% drop from baseline after a "
                                                      "response")


def madrs_items(total):
    """Ten MADRS items (0-6) adding up to ``total``."""
    return [min(6, max(0, total - 6 * k)) for k in range(10)]


def madrs(measurement_id, total, at, context=ScoreContext.FOLLOW_UP):
    return scale_score(measurement_id, Scale.MADRS, madrs_items(total), at, ScoreSource.CLINICIAN, context)


class TestRelapseAfterRemission:
    """Relapse after remission (SUSTAIN-1 via CLINICAL.md): MADRS ≥ 22 on 2 consecutive assessments after a MADRS in
    remission (≤ 10), or a hospitalisation or suicide attempt after remission."""

    def course(self, *totals, course_settings=None):
        course_settings = course_settings or settings()
        course = record_score(new_course(course_settings), madrs("b", 32, START - DAY, ScoreContext.BASELINE),
                              course_settings, protocol())
        course = give(course, range(1, 7), course_settings)
        for n, total in enumerate(totals, start=1):
            course = record_score(course, madrs(f"m{n}", total, infusion_time(6) + n * 7 * DAY), course_settings,
                                  protocol())
        return course

    def outcome(self, *totals, course_settings=None):
        return course_outcome(self.course(*totals, course_settings=course_settings), course_settings or settings(),
                              Scale.MADRS)

    def test_two_consecutive_madrs_of_22_or_more_after_remission_are_a_relapse(self):
        outcome = self.outcome(8, 24, 22)
        assert outcome.first_remission.measurement_id == "m1"
        [relapse] = outcome.relapses
        assert (relapse.measurement_id, relapse.evidence) == (
            "m3", "MADRS 22 (after remission, MADRS ≥ 22 on 2 consecutive assessments or a hospitalisation or "
                  "suicide attempt)")
        assert outcome.in_relapse

    def test_21_is_just_below_the_relapse_score(self):
        outcome = self.outcome(8, 21, 21, 21)
        assert outcome.relapses == () and not outcome.in_relapse
        assert outcome.losses_of_response != ()  # 21 of 32 is a loss of response, and only that

    def test_one_high_score_between_remissions_is_not_a_relapse(self):
        assert self.outcome(8, 24, 9, 23).relapses == ()

    def test_no_relapse_without_remission_first_even_when_the_response_is_lost(self):
        outcome = self.outcome(14, 24, 25)  # 14 is a response (≥ 50% of 32) but not remission (≤ 10)
        assert outcome.first_remission is None and outcome.relapses == ()
        assert [p.measurement_id for p in outcome.losses_of_response] == ["m3"] and outcome.response_lost

    def test_remission_again_ends_the_relapse_and_a_second_relapse_counts_again(self):
        outcome = self.outcome(8, 24, 25, 10, 30, 28)
        assert [r.measurement_id for r in outcome.relapses] == ["m3", "m6"] and outcome.in_relapse
        assert not self.outcome(8, 24, 25, 10).in_relapse

    def test_the_clinic_sets_the_score_and_how_many_assessments_confirm_it(self):
        clinic = settings(madrs_relapse_score=18.0, relapse_consecutive_assessments=1)
        assert [r.measurement_id for r in self.outcome(8, 18, course_settings=clinic).relapses] == ["m2"]
        assert self.outcome(8, 17, course_settings=clinic).relapses == ()

    def test_a_scale_without_a_relapse_score_never_relapses_by_scores(self):
        course = induction({1: 20, 6: 3})  # PHQ-9 remission (< 5) ...
        for n, total in enumerate((20, 21, 22), start=1):  # ... then far worse
            course = follow_up(course, f"m{n}", total, infusion_time(6) + n * 7 * DAY)
        outcome = course_outcome(course, settings())
        assert outcome.relapse_rule.min_score is None and outcome.relapses == ()
        assert outcome.relapse_rule.text == "after remission, a hospitalisation or suicide attempt"
        assert outcome.losses_of_response != ()

    @pytest.mark.parametrize("kind", list(ClinicalEventKind))
    def test_a_hospitalisation_or_suicide_attempt_after_remission_is_a_relapse(self, kind):
        course = self.course(8)
        event = ClinicalEvent("e1", kind, infusion_time(6) + 10 * DAY, PRESCRIBER)
        course = record_clinical_event(course, event, settings(), protocol())
        outcome = course_outcome(course, settings(), Scale.MADRS)
        [relapse] = outcome.relapses
        assert (relapse.event_id, relapse.evidence, outcome.in_relapse) == ("e1", kind.text, True)

    def test_an_event_before_remission_or_with_the_setting_off_is_no_relapse(self):
        before = ClinicalEvent("e1", ClinicalEventKind.SUICIDE_ATTEMPT, infusion_time(6) + 3 * DAY, PRESCRIBER)
        course = record_clinical_event(self.course(8), before, settings(), protocol())  # m1 is on day 7
        assert course_outcome(course, settings(), Scale.MADRS).relapses == ()
        off = settings(relapse_on_clinical_events=False)
        after = ClinicalEvent("e2", ClinicalEventKind.SUICIDE_ATTEMPT, infusion_time(6) + 10 * DAY, PRESCRIBER)
        course = record_clinical_event(self.course(8, course_settings=off), after, off, protocol())
        assert course_outcome(course, off, Scale.MADRS).relapses == ()


class TestGoal:
    def test_achievement_follows_the_outcome_and_the_due_date(self):
        course = induction({1: 20, 6: 9})
        goal = course.goals[0]
        assert goal.rule.text == "PHQ-9 < 5" and goal.due_on == goal.start_on + timedelta(days=28)
        outcome = course_outcome(course, settings())
        assert goal_achievement(goal, outcome, goal.due_on) is GoalAchievement.IMPROVING
        assert goal_achievement(goal, outcome, goal.due_on + DAY) is GoalAchievement.NOT_ACHIEVED
        achieved = course_outcome(follow_up(course, "m1", 3, infusion_time(6) + DAY), settings())
        assert goal_achievement(goal, achieved, goal.due_on + DAY) is GoalAchievement.ACHIEVED
        worse = course_outcome(induction({1: 10, 6: 12}), settings())
        assert goal_achievement(goal, worse, goal.start_on) is GoalAchievement.WORSENING
        assert goal_achievement(goal, course_outcome(new_course(), settings()),
                                goal.start_on) is GoalAchievement.IN_PROGRESS
        same = replace(outcome, last=replace(outcome.last, total=20))
        assert goal_achievement(goal, same, goal.start_on) is GoalAchievement.NO_CHANGE

    def test_no_goal_when_the_primary_scale_has_no_remission_rule(self):
        assert new_course(settings(primary_scale=Scale.GAD7)).goals == ()
