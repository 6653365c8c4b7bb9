"""The intake screen as steps a nurse finishes on a chair-side screen (1024x768): one part of the intake at a time
(``?step=<part>``), a step list with each part's state and the progress, and after a save the next step (or the same
one while it is still incomplete). Every part already saves on its own (its own form and post), so moving between
steps loses nothing that was saved; the whole intake stays one page (every part is drawn, the others ``hidden``),
so a refused post, the error summary and a browser without JavaScript all work as before.

Pure: from the intake's state to the steps; the page module (``intake_page``) reads the request and renders."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.intake.presenters import PART_TITLES

DECIDE = "decide"
STEP_TITLES = {**PART_TITLES, "urgent_use": "Urgent use (prescriber)", DECIDE: "Decide eligibility"}


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    done: bool
    optional: bool = False  # not needed to decide (urgent use; overrides when nothing needs one)


def intake_steps(intake: Any, override_items: list[dict[str, Any]], review_needed: bool,
                 urgent_use_allowed: bool) -> list[Step]:
    """The steps in the order a nurse works through them, each with whether it is recorded."""
    vitals = intake.vitals
    vitals_done = bool(vitals and vitals.blood_pressure and vitals.heart_rate_per_min and vitals.spo2_pct
                       and vitals.respiratory_rate_per_min and vitals.weight_kg and vitals.height_cm)
    steps = [
        Step("trials", STEP_TITLES["trials"], intake.trials is not None),
        Step("contraindications", STEP_TITLES["contraindications"], intake.contraindications is not None),
        Step("vitals", STEP_TITLES["vitals"], vitals_done),
        Step("phq9", STEP_TITLES["phq9"], intake.phq9 is not None),
        Step("madrs", STEP_TITLES["madrs"], intake.madrs is not None),
        Step("cssrs", STEP_TITLES["cssrs"], intake.cssrs is not None),
    ]
    if review_needed:
        review = intake.cssrs_review
        steps.append(Step("cssrs_review", STEP_TITLES["cssrs_review"],
                          bool(review and review.cssrs_answered_at == intake.cssrs.answered_at)))
    steps.append(Step("consent", STEP_TITLES["consent"], intake.consent is not None))
    if urgent_use_allowed:
        steps.append(Step("urgent_use", STEP_TITLES["urgent_use"], intake.urgent_use is not None, optional=True))
    steps.append(Step("overrides", STEP_TITLES["overrides"], all(item["override"] for item in override_items),
                      optional=not override_items))
    steps.append(Step(DECIDE, STEP_TITLES[DECIDE], intake.decision is not None))
    return steps


def current_step(steps: list[Step], requested: str | None) -> Step:
    """The step asked for; else the first required step not yet recorded; else deciding."""
    by_key = {step.key: step for step in steps}
    if requested in by_key:
        return by_key[requested]  # type: ignore[index]
    return next((step for step in steps if not step.done and not step.optional), steps[-1])


def step_after_save(steps: list[Step], saved: str) -> str:
    """Where a save goes: the same step while it is still incomplete (vitals partly taken, an override left), else
    the next step that still needs work (after this one, then from the start), else deciding."""
    keys = [step.key for step in steps]
    if saved not in keys:
        return current_step(steps, None).key
    index = keys.index(saved)
    if not steps[index].done and not steps[index].optional:
        return saved
    needing_work = [step.key for step in steps[index + 1:] + steps[:index] if not step.done and not step.optional]
    return needing_work[0] if needing_work else steps[-1].key


def neighbours(steps: list[Step], key: str) -> tuple[Step | None, Step | None]:
    """The steps before and after ``key`` (for the Previous / Next links)."""
    keys = [step.key for step in steps]
    index = keys.index(key)
    return (steps[index - 1] if index > 0 else None, steps[index + 1] if index + 1 < len(steps) else None)
