"""The course's domain objects for the API and the page: the JSON answer (the clinician's summary,
``domain/summary.py``, as JSON with the outcome in words, and for a change the messages it published, the
suicidality alerts it raised first among them) and the summary's score chart as SVG (``score_chart_svg``).

The chart is one scale's scores over time with the remission threshold (dashed) and the level at which the drop
from baseline is a response (dotted), and a tick per infusion on the time axis. Accessible: ``role="img"`` with a
title and a description that says the same in words, so the chart is never the only place a number appears.

The patient's questionnaire links and what is due (``questionnaires_view``, ``patient_link_view``) never show a
token: the link's address (``patient_link_url``) appears once, in the answer that made it."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

from flask import request, url_for

from services.orders.course.domain.outcomes import outcome_text
from services.orders.course.domain.summary import InfusionLine, ScoreSeries
from services.orders.course.domain.patient_links import PatientLink
from services.orders.course.handlers import CourseChange, PublishedEvent
from services.orders.course.domain.patient_reports import DueQuestionnaire
from services.orders.course.handlers.patient_reports import ClinicDue, CourseQuestionnaires
from shared.ehr_delivery import RecordEhrStatus
from shared.ehr_delivery.views import record_status_json
from shared.scales import DEFINITIONS


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


# --- the score chart -----------------------------------------------------------------------------------------
_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP, _MARGIN_BOTTOM = 40, 16, 16, 36


def score_chart_svg(series: ScoreSeries, infusions: Sequence[InfusionLine], width: int = 640,
                    height: int = 240) -> str:
    name = DEFINITIONS[series.scale].name
    times = [p.measured_at for p in series.points] + [i.given_at for i in infusions]
    description = _description(series, name)
    title = f"{name} over the course"
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-labelledby="chart-title chart-desc" class="score-chart">'
            f'<title id="chart-title">{escape(title)}</title><desc id="chart-desc">{escape(description)}</desc>')
    if not times:
        return head + f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">No {escape(name)} yet</text></svg>'
    start, end = min(times), max(times)
    span = max((end - start).total_seconds(), 1.0)
    plot_w = width - _MARGIN_LEFT - _MARGIN_RIGHT
    plot_h = height - _MARGIN_TOP - _MARGIN_BOTTOM

    def x(moment: datetime) -> float:
        return round(_MARGIN_LEFT + plot_w * (moment - start).total_seconds() / span, 1)

    def y(score: float) -> float:
        return round(_MARGIN_TOP + plot_h * (1 - score / series.scale_max), 1)

    parts = [head,
             f'<line x1="{_MARGIN_LEFT}" y1="{y(0)}" x2="{width - _MARGIN_RIGHT}" y2="{y(0)}" stroke="currentColor"/>',
             f'<line x1="{_MARGIN_LEFT}" y1="{y(0)}" x2="{_MARGIN_LEFT}" y2="{y(series.scale_max)}" '
             f'stroke="currentColor"/>']
    for value in (0, series.scale_max // 2, series.scale_max):
        parts.append(f'<text x="{_MARGIN_LEFT - 6}" y="{y(value) + 4}" text-anchor="end" font-size="11">{value}</text>')
    if series.remission_rule is not None:
        level = y(series.remission_rule.threshold)
        parts.append(f'<line x1="{_MARGIN_LEFT}" y1="{level}" x2="{width - _MARGIN_RIGHT}" y2="{level}" '
                     f'stroke="currentColor" stroke-dasharray="6 4" class="remission"/>')
        parts.append(f'<text x="{width - _MARGIN_RIGHT}" y="{level - 4}" text-anchor="end" font-size="11">'
                     f'remission {escape(series.remission_rule.text)}</text>')
    if series.response_level is not None:
        level = y(series.response_level)
        parts.append(f'<line x1="{_MARGIN_LEFT}" y1="{level}" x2="{width - _MARGIN_RIGHT}" y2="{level}" '
                     f'stroke="currentColor" stroke-dasharray="2 3" class="response"/>')
        parts.append(f'<text x="{width - _MARGIN_RIGHT}" y="{level - 4}" text-anchor="end" font-size="11">'
                     f'response ≤ {series.response_level:g}</text>')
    for infusion in infusions:
        tick = x(infusion.given_at)
        parts.append(f'<line x1="{tick}" y1="{y(0)}" x2="{tick}" y2="{y(0) + 6}" stroke="currentColor" '
                     f'class="infusion"/><text x="{tick}" y="{y(0) + 18}" text-anchor="middle" font-size="10">'
                     f'{infusion.number}</text>')
    if series.points:
        path = " ".join(f"{x(p.measured_at)},{y(p.total)}" for p in series.points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="currentColor" stroke-width="2"/>')
        for point in series.points:
            parts.append(f'<circle cx="{x(point.measured_at)}" cy="{y(point.total)}" r="3.5" fill="currentColor">'
                         f'<title>{escape(f"{point.measured_at.date().isoformat()}: {point.total}")}</title></circle>')
    parts.append(f'<text x="{_MARGIN_LEFT + plot_w / 2}" y="{height - 4}" text-anchor="middle" font-size="11">'
                 'infusions (numbered) and scores over time</text></svg>')
    return "".join(parts)


def _description(series: ScoreSeries, name: str) -> str:
    if not series.points:
        return f"No {name} scores recorded."
    values = ", ".join(f"{p.measured_at.date().isoformat()} {p.total}" for p in series.points)
    text = f"{name} scores: {values}."
    if series.remission_rule is not None:
        text += f" Remission is {series.remission_rule.text}."
    if series.response_level is not None:
        text += f" A score of {series.response_level:g} or less is a response."
    return text


def course_ehr_status_view(status: RecordEhrStatus) -> dict[str, Any] | None:
    """The course page's EHR status (a refused score or suicidality alert is an alert); None before anything was
    sent."""
    return record_status_json(status) if status.status is not None else None



def patient_link_url(token: str, patient_base_url: str) -> str:
    """The link's absolute address: the clinic's ``ORDERS_COURSE_PRO_PATIENT_BASE_URL`` when set, else the address
    this request came to. The token is the only thing in it."""
    path = url_for("patient_ui.questionnaire", token=token)
    return f"{patient_base_url.rstrip('/') or request.host_url.rstrip('/')}{path}"


def patient_link_view(link: PatientLink, now: datetime, url: str | None = None) -> dict[str, Any]:
    """A link as staff see it: never its token or hash (``url`` only in the answer that made it)."""
    view = {"link_id": link.link_id, "scale": link.scale.value, "state": link.state(now).value,
            "created_at": link.created_at.isoformat(), "expires_at": link.expires_at.isoformat(),
            "created_by": link.created_by, "used_at": link.used_at.isoformat() if link.used_at else None,
            "measurement_id": link.measurement_id}
    return view | ({"url": url} if url else {})


def questionnaires_view(view: CourseQuestionnaires, now: datetime) -> dict[str, Any]:
    return {"course_id": view.course_id, "patient_id": view.patient_id, "due": [_due(d) for d in view.due],
            "links": [patient_link_view(link, now) for link in view.links]}


def clinic_due_view(rows: Sequence[ClinicDue]) -> dict[str, Any]:
    """The clinic's due list: ids only (the EHR holds the names)."""
    return {"due": [{"course_id": row.course_id, "patient_id": row.patient_id, **_due(row.due),
                     "open_link_expires_at": _iso(row.open_link_expires_at)} for row in rows]}


def _due(due: DueQuestionnaire) -> dict[str, Any]:
    return {"scale": due.scale.value, "state": due.state.value, "due_at": due.due_at.isoformat(),
            "overdue_at": due.overdue_at.isoformat(), "last_measured_at": _iso(due.last_measured_at)}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
