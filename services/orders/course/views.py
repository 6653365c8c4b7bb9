"""JSON answers of the course API: the clinician's summary (``domain/summary.py`` as JSON, with the outcome in
words), and for a change the messages it published, the suicidality alerts it raised first among them."""
from __future__ import annotations

from typing import Any

from services.orders.course.domain.course import outcome_text
from services.orders.course.handlers import CourseChange, PublishedEvent


def course_view(change: CourseChange) -> dict[str, Any]:
    summary = change.summary
    return {
        "course_id": change.course.course_id,
        "patient_id": change.course.patient_id,
        "status": change.course.status.value,
        "outcome_text": outcome_text(summary.outcome),
        "summary": summary.to_dict(),
        "tasks": [t.to_dict() for t in change.course.open_tasks],
        "alerts": [a.to_dict() for a in change.course.alerts],
        "referrals": [r.to_dict() for r in change.course.referrals],
        "clinical_events": [e.to_dict() for e in change.course.clinical_events],
        "series_ids": list(change.course.series_ids),
        "events": [_event(e) for e in change.events],
    }


def change_view(change: CourseChange) -> dict[str, Any]:
    """A change's answer: the course, and ``alerts_raised`` saying whether each alert is on the topic yet."""
    view = course_view(change)
    view["alerts_raised"] = [_event(e) for e in change.alerts_raised]
    return view


def _event(event: PublishedEvent) -> dict[str, Any]:
    view: dict[str, Any] = {"event_code": event.event_code, "message_id": event.message_id, "about": event.about}
    if event.detail:
        view.update(event.detail)
    if event.sent_to_broker is not None:
        view["sent_to_broker"] = event.sent_to_broker
    return view
