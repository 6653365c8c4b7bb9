"""JSON views of the records for the API and the pages: the stored record plus what a clinician needs at a glance
(what is due or missed now, open alerts, why the infusion may not start), and the day's suicide-risk check (issue 13
defect 5): the latest C-SSRS and its risk, the open suicidality alerts, what still needs a clinician's review, the
reviews, and why the infusion may not start on these grounds."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from services.documentation.domain.note import ProcedureNote
from services.documentation.domain.order import ActiveOrder
from services.documentation.domain.schedule import due_cadss, due_vital_readings
from services.documentation.domain.session import Session
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.suicide_risk import (
    SuicidalityAlertSeen,
    day_risk_above_low,
    needs_review,
    suicide_risk_blocks,
)
from services.documentation.translators.document_reference_out import doc_status


def session_summary(session: Session) -> dict[str, Any]:
    return {
        "session_id": session.session_id,
        "patient_id": session.patient_id,
        "order_id": session.order_id,
        "series_id": session.series_id,
        "occurrence_number": session.occurrence_number,
        "status": session.status.value,
        "scheduled_start": session.scheduled_start.isoformat(),
        "scheduled_end": session.scheduled_end.isoformat(),
        "infusion_started_at": _iso(session.infusion_started_at),
        "ended_at": _iso(session.ended_at),
    }


def session_view(session: Session, order: ActiveOrder, now: datetime, settings: SessionSettings) -> dict[str, Any]:
    """The whole session, the order's dose, and the readings and CADSS ratings due or missed at ``now``."""
    latest = session.latest_pre_check
    return {
        **session.to_dict(),
        "summary": session_summary(session),
        "order": order_summary(order),
        "as_of": now.isoformat(),
        "due_readings": [{"due_at": due.due_at.isoformat(), "state": due.state.value, "phase": due.phase.value}
                         for due in due_vital_readings(session, now, settings)],
        "due_cadss": [{"label": due.label, "due_at": due.due_at.isoformat(), "scheduled_minute": due.scheduled_minute,
                       "end_of_recovery": due.end_of_recovery} for due in due_cadss(session, now, settings)],
        # What a discharge now would need (the end-of-recovery rating is due at discharge whatever the time).
        "cadss_due_at_discharge": [
            {"label": due.label, "scheduled_minute": due.scheduled_minute, "end_of_recovery": due.end_of_recovery}
            for due in due_cadss(session, now, settings, at_discharge=True)],
        "open_alert_ids": [alert.alert_id for alert in session.open_alerts],
        "given": _given(session),
        "discharge_instructions": {"items": list(settings.discharge_instructions),
                                   "contact": settings.discharge_contact},
        "charted_pump": _charted_pump(session, order, now),
        "pre_check": None if latest is None else {
            "outcome": latest.result.outcome.value,
            "blocking_reasons": list(latest.blocking_reasons()),
            "overridden": latest.override is not None,
        },
    }


def _given(session: Session) -> dict[str, Any] | None:
    """The administration record's computed totals and whether given versus ordered has been reviewed."""
    record = session.administration
    if record is None:
        return None
    review = session.administration_review
    return {"total_ml": round(record.total_ml, 2), "total_mg": round(record.total_mg, 1),
            "ordered_mg": record.ordered_dose_mg, "deviation_percent": round(record.dose_deviation_percent or 0.0, 1),
            "reviewed": review is not None and review.matches(record)}


def _charted_pump(session: Session, order: ActiveOrder, now: datetime) -> dict[str, Any] | None:
    """The pump segments as charted (what the administration form starts from)."""
    charted = session.charted_infusion(order, now)
    if charted is None:
        return None
    return {"rate_changes": [{"at": c.at.isoformat(), "rate_ml_per_h": c.rate_ml_per_h} for c in charted.rate_changes],
            "pauses": [{"paused_at": p.paused_at.isoformat(), "resumed_at": p.resumed_at.isoformat(),
                        "reason": p.reason} for p in charted.pauses],
            "stopped_at": charted.stopped_at.isoformat()}


def order_summary(order: ActiveOrder) -> dict[str, Any]:
    return {
        "order_id": order.order_id, "series_id": order.series_id, "status": order.status.value,
        "dose_mg_per_kg": order.dose_mg_per_kg, "dose_mg": order.dose_mg, "duration_min": order.duration_min,
        "rate_ml_per_h": order.rate_ml_per_h, "infusion_count": order.infusion_count,
        "dose_calculation_text": order.dose_calculation_text,
        "product_display": order.product_display, "product_code": order.product_rxnorm_code or "",
    }


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


def note_view(note: ProcedureNote, superseded_by: str = "") -> dict[str, Any]:
    return {**note.to_dict(), "doc_status": doc_status(note), "superseded_by": superseded_by or None}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
