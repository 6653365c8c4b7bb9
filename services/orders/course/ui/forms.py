"""The course page's forms read into the service layer's commands: numbers typed as text, the clinician (the
signed-in one from the EHR, by reference), the C-SSRS answers, and a domain field named as the page's
element (``score.items[8]`` is the form's ``item-9``)."""
from __future__ import annotations

import enum
from typing import Any, TypeVar

from services.orders.course.domain.measurements import ScoreContext
from shared.smart import SmartContext
from shared.people import Person
from shared.roles import acting_person

E = TypeVar("E", bound=enum.Enum)

EVENT_DETAIL_MAX_CHARS = 1000  # as the API's ClinicalEventBody
CSSRS_ANSWERS = {"yes": True, "no": False}  # "" = not asked (the screener's skip logic)
FIELD_OF_PERSON = {"acknowledged_by": "by", "started_by": "by", "recorded_by": "by", "referred_by": "by"}


def who(context: SmartContext, _form: Any) -> Person:
    """The signed-in clinician (``shared.roles.acting_person``: the launch's fhirUser, by reference, with the EHR's
    name), never a name typed in the form."""
    return acting_person(context)


def score_context(form: Any) -> ScoreContext:
    return choice(ScoreContext, form.get("context", ScoreContext.PRE_INFUSION.value)) or ScoreContext.PRE_INFUSION


def choice(kind: type[E], text: str | None) -> E | None:
    """The option chosen from ``kind``'s values; None when the form sent none of them."""
    try:
        return kind(text or "")
    except ValueError:
        return None


def integer(text: str | None) -> int | None:
    """A whole number typed, None when empty or not a number (the domain then names the field)."""
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def form_field(field: str) -> str:
    """A domain field as the page's element id: ``score.items[8]`` → ``item-9``; others keep their name."""
    if field.startswith("score.items[") and field.endswith("]"):
        return f"item-{int(field[len('score.items['):-1]) + 1}"
    if field.startswith("cssrs."):
        return field.removeprefix("cssrs.")  # the item: ``cssrs-suicidal-thoughts``
    return FIELD_OF_PERSON.get(field, field)
