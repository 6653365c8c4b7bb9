"""The pre-infusion check page's safety parts (issue 13): the day's C-SSRS screener, the site-readiness checklist,
and the clinician's suicide-risk review — read from the posted form into the API's request fields. Kept apart
from ``ui`` so that module stays about the pages' routes.

A radio pair left unanswered is "not given" (None), so the C-SSRS skip logic and the "required on the day's first
check" rules are the service's, with its messages next to the fields (``cssrs.ideation_with_method``,
``site_readiness.monitoring-ready``)."""
from __future__ import annotations

from typing import Any

from services.documentation.domain.site_readiness import item_label
from services.documentation.domain.suicide_risk import CSSRS_QUESTIONS, ReviewDecision, field_name
from services.documentation.ui_forms import NO, YES, Form
from shared.scales import ALWAYS_ASKED, GATED_BY, CssrsItem

# The screener in its order, each with the item it is asked after (None: always asked).
CSSRS_ROWS = tuple((field_name(item), CSSRS_QUESTIONS[item], field_name(GATED_BY[item]) if item in GATED_BY else None)
                   for item in CssrsItem)
REVIEW_DECISIONS = (
    (ReviewDecision.PROCEED.value, "Proceed with the infusion today"),
    (ReviewDecision.DO_NOT_PROCEED.value, "Do not proceed (defer or abort the session)"),
)


def _answer(form: Form, name: str) -> bool | None:
    value = form.text(name)
    return True if value == YES else False if value == NO else None


def cssrs_answers(form: Form, already_screened: bool) -> dict[str, Any] | None:
    """The C-SSRS answers posted, or None when none were given and the day's screener is already recorded."""
    answers = {name: _answer(form, f"cssrs.{name}") for name, _question, _gate in CSSRS_ROWS}
    if already_screened and all(answer is None for answer in answers.values()):
        return None
    always = {field_name(item) for item in ALWAYS_ASKED}
    return {name: answer for name, answer in answers.items() if answer is not None or name in always}


def readiness_answers(form: Form, items: list[str], already_confirmed: bool) -> dict[str, bool] | None:
    """The checklist answers posted (unanswered items left out, so the service names them), or None when none
    were given and the checklist was confirmed at an earlier check today."""
    answers = {item: _answer(form, f"site_readiness.{item}") for item in items}
    if already_confirmed and all(answer is None for answer in answers.values()):
        return None
    return {item: answer for item, answer in answers.items() if answer is not None}


def readiness_rows(items: list[str]) -> list[tuple[str, str]]:
    return [(item, item_label(item)) for item in items]
