"""The procedure note's lines for the day's safety checks (issue 13 defect 5 and site readiness), kept apart from
``note`` so that module stays about the session's course: the day's C-SSRS screeners with their risk, each
clinician's suicide-risk review (who, when, decision, note, the alerts it covered) and the site-readiness checklist
as confirmed (who, when, each item)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from services.documentation.domain.site_readiness import item_label
from services.documentation.domain.suicide_risk import ReviewDecision

if TYPE_CHECKING:  # only the type: the note imports both
    from services.documentation.domain.session import Session


def safety_section(session: Session, when: Callable[[datetime | None], str]) -> str:
    lines = []
    for screen in session.cssrs_screens:
        endorsed = ", ".join(screen.endorsed()) or "none"
        lines.append(f"  C-SSRS screener at {when(screen.screened_at)} by {screen.screened_by}: risk "
                     f"{screen.risk.value} (yes to: {endorsed})")
    for review in session.suicide_risk_reviews:
        decision = "proceed" if review.decision is ReviewDecision.PROCEED else "do not proceed"
        alerts = "; ".join(f"{a.alert_id} ({a.level.value})" for a in review.alerts)
        lines.append(f"  Suicide-risk review by {review.reviewed_by} at {when(review.reviewed_at)}: {decision} — "
                     f"{review.note}" + (f" (open suicidality alerts reviewed: {alerts})" if alerts else ""))
    readiness = next((a.site_readiness for a in reversed(session.pre_checks) if a.site_readiness), None)
    if readiness is not None:
        items = "; ".join(f"{item_label(i.item).lower()} {'confirmed' if i.confirmed else 'NOT confirmed'}"
                          for i in readiness.items)
        lines.append(f"  Site readiness at {when(readiness.confirmed_at)} by {readiness.confirmed_by}: {items}")
    return "\n".join(["Safety checks before the infusion:", *lines]) if lines else ""
