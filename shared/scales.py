"""Scoring of the rating scales, in one place for every service: PHQ-9, GAD-7, MADRS, QIDS-SR16 and the C-SSRS
screener.

A total is always computed from the item answers, never entered. Items are checked for count, integer type and
range, and a ``ScaleError`` names the item at fault: ``field`` indexes the list from 0 like JSON (``items[8]``)
and the message names the item number ("item 9 ..."). Each service raises it again as its own input error under
its own prefix (intake: ``phq9.items[8]``).

Ranges (shared/CLINICAL.md): PHQ-9 0-27 (9 items 0-3), MADRS 0-60 (10 items 0-6), QIDS-SR16 0-27. GAD-7 0-21 (7 items
0-3) and the QIDS-SR16 domain rule are the instruments' published scoring rules (QIDS-SR16: Rush et al. 2003,
Biol Psychiatry 54:573): 16 items 0-3 scored in 9 domains, the highest item counting for sleep (items 1-4),
appetite/weight (6-9) and psychomotor change (15-16), the single items 5 and 10-14 as they are. They are not in
CLINICAL.md and were not checked against a primary source here.

Severity bands (``SEVERITY_BANDS``, the one place every page and translator reads them from): PHQ-9 0-4 minimal, 5-9
mild, 10-14 moderate, 15-19 moderately severe, 20-27 severe (Kroenke, Spitzer & Williams 2001, J Gen Intern Med
16:606); GAD-7 0-4 minimal, 5-9 mild, 10-14 moderate, 15-21 severe (Spitzer et al. 2006, Arch Intern Med 166:1092);
MADRS 0-6 normal, 7-19 mild, 20-34 moderate, 35-60 severe (CLINICAL.md "Scales, response, remission"; the labels are
the conventional ones for those cut-offs). QIDS-SR16 has no bands here: none are given in CLINICAL.md. A band labels
a total; it decides nothing (response, remission and alerts have their own rules).

C-SSRS screener (screen version): items 1, 2 and 6 are always asked; 3-5 only when 2 is yes; 6b ("within the past
3 months") only when 6 is yes. A follow-up answered yes while its gate is no is contradictory and refused. Which
items make the risk high or moderate is clinic configuration, with the defaults below (intent, plan with intent,
behaviour in the past 3 months → high; method or lifetime behaviour → moderate; any other yes → low); the defaults
are Columbia's triage and the floor: a clinic may rank an item higher, never lower.
"""
from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shared.records import JsonRecord


class ScaleError(ValueError):
    """Answers a scale cannot score. ``field`` is relative to the answers (``items[3]``, or a C-SSRS item key)."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class Scale(enum.Enum):
    """The scored instruments; values are the keys used in settings, records and paths."""

    PHQ9 = "phq-9"
    GAD7 = "gad-7"
    MADRS = "madrs"
    QIDS_SR16 = "qids-sr16"


@dataclass(frozen=True)
class ScaleDefinition:
    scale: Scale
    name: str  # as clinicians write it
    item_count: int
    item_max: int
    total_max: int
    clinician_rated: bool
    suicidality_item: int | None  # the item (1-based) that asks about death or self-harm, when there is one


DEFINITIONS: dict[Scale, ScaleDefinition] = {
    Scale.PHQ9: ScaleDefinition(Scale.PHQ9, "PHQ-9", 9, 3, 27, False, 9),
    Scale.GAD7: ScaleDefinition(Scale.GAD7, "GAD-7", 7, 3, 21, False, None),
    Scale.MADRS: ScaleDefinition(Scale.MADRS, "MADRS", 10, 6, 60, True, 10),
    Scale.QIDS_SR16: ScaleDefinition(Scale.QIDS_SR16, "QIDS-SR16", 16, 3, 27, False, 12),
}



@dataclass(frozen=True)
class SeverityBand:
    """One severity band of a scale: totals ``low``..``high`` inclusive; ``key`` is stable (codes are built from it),
    ``label`` is what the clinician reads."""

    scale: Scale
    key: str
    label: str
    low: int
    high: int

    @property
    def text(self) -> str:
        """e.g. "moderately severe (PHQ-9 15-19)"."""
        return f"{self.label} ({DEFINITIONS[self.scale].name} {self.low}-{self.high})"


def _bands(scale: Scale, *bands: tuple[str, int, int]) -> tuple[SeverityBand, ...]:
    return tuple(SeverityBand(scale, label.replace(" ", "-"), label, low, high) for label, low, high in bands)


SEVERITY_BANDS: dict[Scale, tuple[SeverityBand, ...]] = {
    Scale.PHQ9: _bands(Scale.PHQ9, ("minimal", 0, 4), ("mild", 5, 9), ("moderate", 10, 14),
                       ("moderately severe", 15, 19), ("severe", 20, 27)),  # Kroenke 2001
    Scale.GAD7: _bands(Scale.GAD7, ("minimal", 0, 4), ("mild", 5, 9), ("moderate", 10, 14),
                       ("severe", 15, 21)),  # Spitzer 2006
    Scale.MADRS: _bands(Scale.MADRS, ("normal", 0, 6), ("mild", 7, 19), ("moderate", 20, 34),
                        ("severe", 35, 60)),  # CLINICAL.md
}


def severity_band(scale: Scale, total: int) -> SeverityBand | None:
    """The band ``total`` falls in; None for a scale without bands (QIDS-SR16). A total outside the scale's range
    is refused (ScaleError), never banded."""
    bands = SEVERITY_BANDS.get(scale)
    if bands is None:
        return None
    if isinstance(total, bool) or not isinstance(total, int) or not 0 <= total <= DEFINITIONS[scale].total_max:
        raise ScaleError("total", f"{DEFINITIONS[scale].name} total {total!r} is outside 0-"
                                  f"{DEFINITIONS[scale].total_max}")
    return next(band for band in bands if band.low <= total <= band.high)


# QIDS-SR16 domains (1-based item numbers): the highest item of each domain counts once.
QIDS_SR16_DOMAINS: tuple[tuple[int, ...], ...] = (
    (1, 2, 3, 4),  # sleep: onset, mid-nocturnal, early morning insomnia, hypersomnia
    (5,),  # sad mood
    (6, 7, 8, 9),  # appetite / weight: decreased or increased appetite, decreased or increased weight
    (10,),  # concentration / decision making
    (11,),  # view of myself
    (12,),  # thoughts of death or suicide
    (13,),  # general interest
    (14,),  # energy level
    (15, 16),  # psychomotor slowing or agitation
)


def checked_items(scale: Scale, item_scores: Sequence[int | None]) -> tuple[int, ...]:
    """The item scores as a tuple after checking count, type and range; ScaleError names the first bad item."""
    definition = DEFINITIONS[scale]
    count, item_max = definition.item_count, definition.item_max
    if isinstance(item_scores, (str, bytes)) or not isinstance(item_scores, Sequence):
        raise ScaleError("items", f"expected a list of {count} item scores")
    if len(item_scores) > count:
        raise ScaleError("items", f"expected {count} items, got {len(item_scores)}")
    scores = []
    for number in range(1, count + 1):
        score = item_scores[number - 1] if number <= len(item_scores) else None
        field = f"items[{number - 1}]"
        if score is None:
            raise ScaleError(field, f"item {number} is required and missing")
        if isinstance(score, bool) or not isinstance(score, int):
            raise ScaleError(field, f"item {number} needs an integer score")
        if not 0 <= score <= item_max:
            raise ScaleError(field, f"item {number} score {score} is outside 0-{item_max}")
        scores.append(score)
    return tuple(scores)


def total_score(scale: Scale, item_scores: Sequence[int | None]) -> int:
    """The scale's total from its items (checked first): a sum, or for QIDS-SR16 the sum of its domain maxima."""
    items = checked_items(scale, item_scores)
    if scale is Scale.QIDS_SR16:
        return sum(max(items[number - 1] for number in domain) for domain in QIDS_SR16_DOMAINS)
    return sum(items)


def suicidality_item_score(scale: Scale, item_scores: Sequence[int]) -> int | None:
    """The answer to the scale's death/self-harm item (PHQ-9 item 9, MADRS item 10, QIDS-SR16 item 12); None for a
    scale without one (GAD-7)."""
    number = DEFINITIONS[scale].suicidality_item
    return None if number is None else checked_items(scale, item_scores)[number - 1]


# --- C-SSRS screener ---------------------------------------------------------------------------------------------
class CssrsItem(enum.Enum):
    WISH_TO_BE_DEAD = "wish-to-be-dead"  # 1
    SUICIDAL_THOUGHTS = "suicidal-thoughts"  # 2
    IDEATION_WITH_METHOD = "ideation-with-method"  # 3
    IDEATION_WITH_INTENT = "ideation-with-intent"  # 4
    IDEATION_WITH_PLAN_AND_INTENT = "ideation-with-plan-and-intent"  # 5
    SUICIDAL_BEHAVIOUR_LIFETIME = "suicidal-behaviour-lifetime"  # 6
    SUICIDAL_BEHAVIOUR_PAST_3_MONTHS = "suicidal-behaviour-past-3-months"  # 6b


ALWAYS_ASKED = (CssrsItem.WISH_TO_BE_DEAD, CssrsItem.SUICIDAL_THOUGHTS, CssrsItem.SUICIDAL_BEHAVIOUR_LIFETIME)
# Follow-up item → the gate item that must be yes for it to be asked.
GATED_BY: dict[CssrsItem, CssrsItem] = {
    CssrsItem.IDEATION_WITH_METHOD: CssrsItem.SUICIDAL_THOUGHTS,
    CssrsItem.IDEATION_WITH_INTENT: CssrsItem.SUICIDAL_THOUGHTS,
    CssrsItem.IDEATION_WITH_PLAN_AND_INTENT: CssrsItem.SUICIDAL_THOUGHTS,
    CssrsItem.SUICIDAL_BEHAVIOUR_PAST_3_MONTHS: CssrsItem.SUICIDAL_BEHAVIOUR_LIFETIME,
}

# Columbia screener triage (CLINICAL.md): items 4-5 and behaviour in the past 3 months high; item 3 moderate, and
# lifetime behaviour (the screener's "more than 3 months ago") moderate. The defaults, and the floor a clinic's lists
# must keep (``validate_cssrs_risk_items``).
DEFAULT_CSSRS_HIGH_RISK_ITEMS: tuple[str, ...] = (
    CssrsItem.IDEATION_WITH_INTENT.value,
    CssrsItem.IDEATION_WITH_PLAN_AND_INTENT.value,
    CssrsItem.SUICIDAL_BEHAVIOUR_PAST_3_MONTHS.value,
)
DEFAULT_CSSRS_MODERATE_RISK_ITEMS: tuple[str, ...] = (
    CssrsItem.IDEATION_WITH_METHOD.value,
    CssrsItem.SUICIDAL_BEHAVIOUR_LIFETIME.value,
)
COLUMBIA_HIGH_RISK_ITEMS = DEFAULT_CSSRS_HIGH_RISK_ITEMS
COLUMBIA_MODERATE_RISK_ITEMS = DEFAULT_CSSRS_MODERATE_RISK_ITEMS


class AlertLevel(enum.Enum):
    """A suicidality alert's level, the course's and the infusion day's alike. Values are FHIR's
    detectedissue-severity codes (the alert travels as a DetectedIssue)."""

    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


class CssrsRisk(enum.Enum):
    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """0 (none) to 3 (high), for "at least moderate" comparisons."""
        return list(CssrsRisk).index(self)


@dataclass(frozen=True)
class CssrsAnswer(JsonRecord):
    item: CssrsItem
    answer: bool


def checked_cssrs_answers(answers: Mapping[str | CssrsItem, bool | None]) -> tuple[CssrsAnswer, ...]:
    """The answers in screener order after the skip logic (None or absent = not asked); ScaleError's ``field`` is
    the item key."""
    given: dict[CssrsItem, bool] = {}
    for key, answer in answers.items():
        item = _cssrs_item(key)
        if answer is None:
            continue
        if not isinstance(answer, bool):
            raise ScaleError(item.value, "answer must be yes (true) or no (false)")
        given[item] = answer
    for item in ALWAYS_ASKED:
        if item not in given:
            raise ScaleError(item.value, "required item is missing")
    for item, gate in GATED_BY.items():
        if given[gate] and item not in given:
            raise ScaleError(item.value, f"required when {gate.value} is yes")
        if not given[gate] and given.get(item):
            raise ScaleError(item.value, f"answered yes although {gate.value} is no")
    return tuple(CssrsAnswer(item, given[item]) for item in CssrsItem if item in given)


def cssrs_risk(
    answers: Mapping[CssrsItem, bool], high_risk_items: tuple[str, ...], moderate_risk_items: tuple[str, ...]
) -> CssrsRisk:
    endorsed = {item.value for item, answer in answers.items() if answer}
    if endorsed & set(high_risk_items):
        return CssrsRisk.HIGH
    if endorsed & set(moderate_risk_items):
        return CssrsRisk.MODERATE
    return CssrsRisk.LOW if endorsed else CssrsRisk.NONE


def validate_cssrs_risk_items(high_risk_items: tuple[str, ...], moderate_risk_items: tuple[str, ...],
                              names: tuple[str, str] = ("cssrs_high_risk_items", "cssrs_moderate_risk_items")) -> None:
    """Raise ValueError when a configured item key is unknown, an item is both high and moderate risk, or the lists
    rank an item lower than Columbia's triage does (a clinic may be stricter, never laxer)."""
    known = {item.value for item in CssrsItem}
    for name, items in zip(names, (high_risk_items, moderate_risk_items)):
        unknown = set(items) - known
        if unknown:
            raise ValueError(f"{name} has unknown items {sorted(unknown)}; known: {', '.join(sorted(known))}")
    both = set(high_risk_items) & set(moderate_risk_items)
    if both:
        raise ValueError(f"C-SSRS items both high and moderate risk: {sorted(both)}")
    # Columbia triage is the floor (CLINICAL.md): a clinic may count an item higher, never lower. Without this, a
    # list that leaves out intent, plan or recent behaviour scores such a screen low, and it passes unreviewed.
    not_high = [item for item in COLUMBIA_HIGH_RISK_ITEMS if item not in high_risk_items]
    if not_high:
        raise ValueError(f"{names[0]} must keep Columbia's high-risk items {sorted(not_high)} (a clinic may add "
                         "items, never drop these)")
    unranked = [item for item in COLUMBIA_MODERATE_RISK_ITEMS
                if item not in high_risk_items and item not in moderate_risk_items]
    if unranked:
        raise ValueError(f"{names[1]} (or {names[0]}) must keep Columbia's moderate-risk items {sorted(unranked)}")


def _cssrs_item(key: str | CssrsItem) -> CssrsItem:
    if isinstance(key, CssrsItem):
        return key
    try:
        return CssrsItem(key)
    except ValueError:
        allowed = ", ".join(member.value for member in CssrsItem)
        raise ScaleError(str(key), f"{key!r} is not one of {allowed}") from None
