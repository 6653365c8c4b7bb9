"""JSON view of the day's suicide-risk check (issue 13 defect 5) for the API and the pages: the latest C-SSRS and
its risk, the open suicidality alerts, what still needs a clinician's review, the reviews, and why the infusion may
not start on these grounds. A module of its own so ``presenters`` stays about the session's record."""
from __future__ import annotations

from typing import Any

from services.documentation.domain.session import Session
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.suicide_risk import (
    SuicidalityAlertSeen,
    day_risk_above_low,
    needs_review,
    suicide_risk_blocks,
)


def suicide_risk_view(session: Session, open_alerts: tuple[SuicidalityAlertSeen, ...],
                      settings: SessionSettings) -> dict[str, Any]:
    screen = session.latest_cssrs
    before_start = session.infusion_started_at is None
    return {
        "cssrs_required": settings.pre_check_cssrs_required,
        "cssrs_risk": screen.risk.value if screen else None,
        "cssrs_endorsed": list(screen.endorsed()) if screen else [],
        "open_alerts": [alert.to_dict() for alert in open_alerts],
        "needs_review": list(needs_review(session.cssrs_screens, open_alerts, session.suicide_risk_reviews))
        if before_start else [],
        "blocking_reasons": list(suicide_risk_blocks(session.cssrs_screens, open_alerts, session.suicide_risk_reviews,
                                                     settings))
        if before_start and session.pre_checks else [],
        "safety_plan_required": day_risk_above_low(session.cssrs_screens, session.suicide_risk_reviews),
    }
