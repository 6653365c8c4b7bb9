"""Suicidality alerts: raised from a C-SSRS screener at or above the clinic's risk level, and from the suicide item of
every scale that has one (PHQ-9 item 9, MADRS item 10, QIDS-SR16 item 12) at or above the clinic's threshold
(``CourseSettings.suicide_item_alert``), so that the prescriber is told at once (the glue publishes the alert on its
own, not with the next course update). An alert stays open until the prescriber acknowledges it with the action taken.

An alert's id is derived from the measurement and the rule (``{measurement_id}-{source}``), so a redelivered or
rescored questionnaire never raises the same alert twice. A rescoring that is no longer positive leaves the alert
as it is: it was raised, and the prescriber closes it. A rescoring that reaches a higher level raises a new alert
(``course._with_alert``: id suffixed with the level), so the higher risk is never hidden behind the first alert.

Levels: a C-SSRS alert has the screener's risk (low, moderate, high). A PHQ-9 item 9 alert is ``moderate`` whatever
the answer: the item says there are thoughts, not how serious they are, which is what the C-SSRS is for (a design
choice, unverified). A MADRS item 10 or QIDS-SR16 item 12 alert is ``moderate``, and ``high`` from the clinic's high
threshold (default the top answer, which describes plans or preparations: unverified)."""
from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from shared.people import Person
from services.orders.course.domain.checks import require_aware, require_text, require_person
from services.orders.course.domain.errors import CourseStateError
from services.orders.course.domain.measurements import CssrsScreening, ScaleScore
from services.orders.course.domain.settings import CourseSettings
from shared.records import JsonRecord
from shared.scales import DEFINITIONS, AlertLevel, CssrsRisk, Scale

PHQ9_ITEM9_ANSWERS = {1: "several days", 2: "more than half the days", 3: "nearly every day"}


# The scales' suicide items in words, as the alert's detail names them.
SUICIDE_ITEM_TOPICS = {Scale.PHQ9: "thoughts of being better off dead or of self-harm",
                       Scale.MADRS: "suicidal thoughts", Scale.QIDS_SR16: "thoughts of death or suicide"}


class AlertSource(enum.Enum):
    CSSRS = "cssrs"
    PHQ9_ITEM9 = "phq9-item9"
    MADRS_ITEM10 = "madrs-item10"
    QIDS_SR16_ITEM12 = "qids-sr16-item12"


SUICIDE_ITEM_SOURCES = {Scale.PHQ9: AlertSource.PHQ9_ITEM9, Scale.MADRS: AlertSource.MADRS_ITEM10,
                        Scale.QIDS_SR16: AlertSource.QIDS_SR16_ITEM12}


@dataclass(frozen=True)
class SuicidalityAlert(JsonRecord):
    alert_id: str
    measurement_id: str
    source: AlertSource
    level: AlertLevel
    raised_at: datetime
    detail: str  # what was endorsed, in words
    acknowledged_at: datetime | None = None
    acknowledged_by: Person | None = None
    action_taken: str | None = None

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None


def alert_for_score(score: ScaleScore, settings: CourseSettings) -> SuicidalityAlert | None:
    """A score whose suicide item reaches the clinic's threshold for that scale (PHQ-9 item 9 ≥ 1, MADRS item 10
    ≥ 4, QIDS-SR16 item 12 ≥ 2 by default); None for a scale without a suicide item (GAD-7)."""
    rule = settings.suicide_item_alert(score.scale)
    answer = score.suicidality_item
    if rule is None or answer is None or answer < rule.alert_min_score:
        return None
    definition = DEFINITIONS[score.scale]
    topic = SUICIDE_ITEM_TOPICS[score.scale]
    if score.scale is Scale.PHQ9:
        detail = (f"PHQ-9 item 9 ({topic}) answered {answer} ({PHQ9_ITEM9_ANSWERS[answer]}); assess with the "
                  "C-SSRS")
    else:
        detail = (f"{definition.name} item {definition.suicidality_item} ({topic}) scored {answer} of "
                  f"{definition.item_max} (alert from {rule.alert_min_score}); assess with the C-SSRS")
    high = rule.high_alert_min_score is not None and answer >= rule.high_alert_min_score
    source = SUICIDE_ITEM_SOURCES[score.scale]
    return SuicidalityAlert(_alert_id(score.measurement_id, source), score.measurement_id, source,
                            AlertLevel.HIGH if high else AlertLevel.MODERATE, score.measured_at, detail)


def alert_for_cssrs(screening: CssrsScreening, settings: CourseSettings) -> SuicidalityAlert | None:
    """A screener whose risk is at least ``suicidality_alert_min_cssrs_risk``."""
    if screening.risk is CssrsRisk.NONE or screening.risk.rank < settings.suicidality_alert_min_cssrs_risk.rank:
        return None
    endorsed = ", ".join(item.value.replace("-", " ") for item in screening.endorsed_items())
    detail = f"C-SSRS screener risk {screening.risk.value}: endorsed {endorsed}"
    return SuicidalityAlert(_alert_id(screening.measurement_id, AlertSource.CSSRS), screening.measurement_id,
                            AlertSource.CSSRS, AlertLevel(screening.risk.value), screening.measured_at, detail)


def acknowledged(alert: SuicidalityAlert, by: Person, at: datetime, action_taken: str) -> SuicidalityAlert:
    """The alert closed by the prescriber with what was done (e.g. "called the patient; safety plan reviewed")."""
    if not alert.is_open:
        raise CourseStateError(f"alert {alert.alert_id} was already acknowledged", "alert_id")
    by = require_person(by, "acknowledged_by")
    action_taken = require_text(action_taken, "action_taken")
    return replace(alert, acknowledged_at=require_aware(at, "acknowledged_at"), acknowledged_by=by,
                   action_taken=action_taken)


def _alert_id(measurement_id: str, source: AlertSource) -> str:
    return f"{measurement_id}-{source.value}"
