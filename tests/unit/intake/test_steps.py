"""The intake screen's steps (one part at a time on a chair-side screen): their order and states from the intake,
the step shown when none is asked for, and where a save goes next."""
from services.intake.domain.recording import start_intake
from services.intake.presenters import override_items
from services.intake.ui.steps import Step, current_step, intake_steps, neighbours, step_after_save

from .builders import INTAKE_ID, PATIENT_ID, T0, eligible_intake


def _keys(steps):
    return [step.key for step in steps]


def test_a_new_intake_starts_at_the_trials_and_lists_every_step_in_order(settings):
    intake = start_intake(INTAKE_ID, PATIENT_ID, T0)
    steps = intake_steps(intake, override_items(intake, settings), review_needed=False, urgent_use_allowed=True)
    assert _keys(steps) == ["trials", "contraindications", "vitals", "phq9", "madrs", "cssrs", "consent",
                            "urgent_use", "overrides", "decide"]
    assert [step.key for step in steps if step.done] == ["overrides"]  # nothing needs an override
    assert [step.key for step in steps if step.optional] == ["urgent_use", "overrides"]  # nothing to override
    assert current_step(steps, None).key == "trials"
    assert current_step(steps, "madrs").key == "madrs" and current_step(steps, "nonsense").key == "trials"


def test_the_review_step_appears_only_when_the_cssrs_needs_it(settings):
    intake = eligible_intake(settings)
    steps = intake_steps(intake, [], review_needed=True, urgent_use_allowed=False)
    assert "cssrs_review" in _keys(steps) and "urgent_use" not in _keys(steps)
    review = next(step for step in steps if step.key == "cssrs_review")
    assert not review.done and current_step(steps, None).key == "cssrs_review"


def test_a_complete_intake_opens_at_deciding(settings):
    intake = eligible_intake(settings)
    steps = intake_steps(intake, override_items(intake, settings), review_needed=False, urgent_use_allowed=True)
    assert all(step.done for step in steps if step.key not in ("decide", "urgent_use"))
    assert current_step(steps, None).key == "decide"


def test_a_save_goes_to_the_next_step_that_needs_work_or_stays_while_incomplete():
    steps = [Step("trials", "T", True), Step("contraindications", "C", True), Step("vitals", "V", False),
             Step("phq9", "P", True), Step("consent", "K", False), Step("urgent_use", "U", False, optional=True),
             Step("overrides", "O", False), Step("decide", "D", False)]
    assert step_after_save(steps, "contraindications") == "vitals"
    assert step_after_save(steps, "vitals") == "vitals"  # still incomplete (a measure not taken)
    assert step_after_save(steps, "phq9") == "consent"
    assert step_after_save(steps, "overrides") == "overrides"
    done = [Step(s.key, s.title, s.key != "decide", s.optional) for s in steps]
    assert step_after_save(done, "phq9") == "decide" and step_after_save(done, "decision") == "decide"
    wrap = [Step("trials", "T", False), Step("consent", "K", True), Step("decide", "D", False)]
    assert step_after_save(wrap, "consent") == "decide"
    assert neighbours(steps, "trials") == (None, steps[1]) and neighbours(steps, "decide") == (steps[-2], None)
