"""Suicidality alerts: raised from a C-SSRS screener at or above the clinic's risk level, and from a positive PHQ-9
item 9, so that the prescriber is told at once (the glue publishes the alert on its own, not with the next course
update). An alert stays open until the prescriber acknowledges it with the action taken.

An alert's id is derived from the measurement and the rule (``{measurement_id}-{source}``), so a redelivered or
rescored questionnaire never raises the same alert twice. A rescoring that is no longer positive leaves the alert
as it is: it was raised, and the prescriber closes it.

Levels: a C-SSRS alert has the screener's risk (low, moderate, high). A PHQ-9 item 9 alert is ``moderate`` whatever
the answer: the item says there are thoughts, not how serious they are, which is what the C-SSRS is for (a design
choice, unverified)."""
from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from services.orders.course.domain.checks import require_aware, require_text
from services.orders.course.domain.errors import CourseStateError
from services.orders.course.domain.measurements import CssrsScreening, ScaleScore
from services.orders.course.domain.settings import CourseSettings
from shared.records import JsonRecord
from shared.scales import CssrsRisk, Scale

PHQ9_ITEM9_ANSWERS = {1: "several days", 2: "more than half the days", 3: "nearly every day"}


class AlertLevel(enum.Enum):
    """Values are FHIR's detectedissue-severity codes."""

    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


class AlertSource(enum.Enum):
    CSSRS = "cssrs"
    PHQ9_ITEM9 = "phq9-item9"


@dataclass(frozen=True)
class SuicidalityAlert(JsonRecord):
    alert_id: str
    measurement_id: str
    source: AlertSource
    level: AlertLevel
    raised_at: datetime
    detail: str  # what was endorsed, in words
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    action_taken: str | None = None

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None


def alert_for_score(score: ScaleScore, settings: CourseSettings) -> SuicidalityAlert | None:
    """A PHQ-9 whose item 9 is above 0, when the clinic alerts on it."""
    if score.scale is not Scale.PHQ9 or not settings.phq9_item9_alert:
        return None
    answer = score.suicidality_item or 0
    if answer <= 0:
        return None
    detail = (f"PHQ-9 item 9 (thoughts of being better off dead or of self-harm) answered {answer} "
              f"({PHQ9_ITEM9_ANSWERS[answer]}); assess with the C-SSRS")
    return SuicidalityAlert(_alert_id(score.measurement_id, AlertSource.PHQ9_ITEM9), score.measurement_id,
                            AlertSource.PHQ9_ITEM9, AlertLevel.MODERATE, score.measured_at, detail)


def alert_for_cssrs(screening: CssrsScreening, settings: CourseSettings) -> SuicidalityAlert | None:
    """A screener whose risk is at least ``suicidality_alert_min_cssrs_risk``."""
    if screening.risk is CssrsRisk.NONE or screening.risk.rank < settings.suicidality_alert_min_cssrs_risk.rank:
        return None
    endorsed = ", ".join(item.value.replace("-", " ") for item in screening.endorsed_items())
    detail = f"C-SSRS screener risk {screening.risk.value}: endorsed {endorsed}"
    return SuicidalityAlert(_alert_id(screening.measurement_id, AlertSource.CSSRS), screening.measurement_id,
                            AlertSource.CSSRS, AlertLevel(screening.risk.value), screening.measured_at, detail)


def acknowledged(alert: SuicidalityAlert, by: str, at: datetime, action_taken: str) -> SuicidalityAlert:
    """The alert closed by the prescriber with what was done (e.g. "called the patient; safety plan reviewed")."""
    if not alert.is_open:
        raise CourseStateError(f"alert {alert.alert_id} was already acknowledged", "alert_id")
    by = require_text(by, "acknowledged_by")
    action_taken = require_text(action_taken, "action_taken")
    return replace(alert, acknowledged_at=require_aware(at, "acknowledged_at"), acknowledged_by=by,
                   action_taken=action_taken)


def _alert_id(measurement_id: str, source: AlertSource) -> str:
    return f"{measurement_id}-{source.value}"
