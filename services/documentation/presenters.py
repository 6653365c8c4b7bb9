"""JSON views of the records for the API and the pages: the stored record plus what a clinician needs at a glance
(what is due or missed now, open alerts, why the infusion may not start), and the day's suicide-risk check (issue 13
defect 5): the latest C-SSRS and its risk, the open suicidality alerts, what still needs a clinician's review, the
reviews, and why the infusion may not start on these grounds."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.documentation import commands as c
from services.documentation.domain.adverse_events import AdverseEventRecord
from services.documentation.domain.cadss import CadssAssessment
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.flowsheet import FlowsheetEvent
from services.documentation.domain.note import ProcedureNote
from services.documentation.domain.order import ActiveOrder
from services.documentation.domain.pregnancy import PregnancyApplicability
from services.documentation.domain.pump import PumpChange
from services.documentation.domain.schedule import due_cadss, due_vital_readings, next_vital_reading_due
from services.documentation.domain.session import Session
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.suicide_risk import (
    SuicidalityAlertSeen,
    day_risk_above_low,
    needs_review,
    suicide_risk_blocks,
)
from services.documentation.domain.vitals import VitalsReading
from services.documentation.handlers import NotePreview, Recorded, SessionState
from services.documentation.messages import NOTE_KIND, SESSION_KIND
from services.documentation.translators.document_reference_out import doc_status
from shared.api import RequestModel
from shared.ehr_delivery import Delivery, EhrStatus, RecordEhrStatus
from shared.ehr_delivery.views import record_status_json
from shared.errors import FieldInputError


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
        "next_reading_due": _iso(next_vital_reading_due(session, now, settings)),
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



def session_state_view(state: SessionState, settings: SessionSettings) -> dict[str, Any]:
    """``session_view`` with the day's suicide-risk check, the clinic's site-readiness checklist, and the reasons
    the suicide-risk check gives among the pre-infusion check's blocking reasons."""
    view = session_view(state.session, state.order, state.as_of, settings)
    view["suicide_risk"] = suicide_risk_view(state.session, state.open_alerts, settings)
    view["site_readiness_items"] = list(settings.site_readiness_items)
    if view["pre_check"] is not None:
        view["pre_check"]["blocking_reasons"] += view["suicide_risk"]["blocking_reasons"]
    return view


def recorded_view(recorded: Recorded[Any], settings: SessionSettings) -> dict[str, Any]:
    """The session after a step that added one record, with ``recorded``: the record's id (the one the service
    gave it when the request had none) and, for a reading, the alert it raised (None when none)."""
    view = session_state_view(recorded.state, settings)
    view["recorded"] = _recorded(recorded.state, recorded.record)
    return view


def _recorded(state: SessionState, record: Any) -> dict[str, Any]:
    if isinstance(record, VitalsReading):
        return {"reading_id": record.reading_id,
                "alert_id": next((alert.alert_id for alert in state.session.alerts
                                  if alert.reading_id == record.reading_id), None)}
    if isinstance(record, PumpChange):
        return {"change_id": record.change_id}
    if isinstance(record, CadssAssessment):
        return {"assessment_id": record.assessment_id, "total": record.total}
    if isinstance(record, (FlowsheetEvent, AdverseEventRecord)):
        return {"event_id": record.event_id}
    raise TypeError(f"no view of a recorded {type(record).__name__}")


def pre_check_context_view(pregnancy: PregnancyApplicability, settings: SessionSettings) -> dict[str, Any]:
    """For the pre-check page: whether "not applicable" may be offered for the pregnancy check today (from the
    EHR record), the clinic's fasting windows and the readings the check requires (marked required)."""
    return {"pregnancy": pregnancy.to_dict(),
            "fasting_solids_hours": settings.fasting_solids_hours,
            "fasting_clear_fluids_hours": settings.fasting_clear_fluids_hours,
            "required_readings": settings.pre_check_required_readings}

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


def note_views(notes: list[ProcedureNote]) -> list[dict[str, Any]]:
    """Every version of a note, each with the version that replaced it."""
    replaced_by = {note.replaces_note_id: note.note_id for note in notes if note.replaces_note_id}
    return [note_view(note, replaced_by.get(note.note_id, "")) for note in notes]


def note_version_view(note_id: str, versions: list[ProcedureNote]) -> dict[str, Any]:
    """One version of a note, with the version that replaced it."""
    return next(view for view in note_views(versions) if view["note_id"] == note_id)


def note_preview_view(preview: NotePreview) -> dict[str, Any]:
    return {"session_id": preview.session.session_id, "status": preview.session.status.value, "text": preview.text}


# --- what the EHR did with the session's and the note's messages ----------------------------------------------------
def with_ehr_status(view: dict[str, Any], status: RecordEhrStatus) -> dict[str, Any]:
    """A session's or note's JSON with its ``ehr_status`` (``shared/ehr_delivery/views.py``)."""
    return {**view, "ehr_status": record_status_json(status)}


def latest_signed(notes: list[ProcedureNote]) -> ProcedureNote | None:
    """The note version the chart should hold: the latest signed one (a later draft amendment is not sent yet)."""
    return next((note for note in reversed(notes) if note.is_signed), None)


def page_ehr_status(session_status: RecordEhrStatus, note_status: RecordEhrStatus | None) -> dict[str, Any] | None:
    """What the session's pages show: the latest signed note refused is the alert (a refused version that a
    later, applied amendment replaced is not), then the session's own messages; None before anything was sent."""
    if note_status is not None and note_status.status is EhrStatus.REFUSED:
        return record_status_json(note_status)
    if session_status.status is None:
        return record_status_json(note_status) if note_status is not None and note_status.status else None
    return record_status_json(session_status)


NOT_IN_EHR_TYPES = {SESSION_KIND: "Encounter", NOTE_KIND: "DocumentReference"}  # the FHIR type each is read as


def ehr_record_link(delivery: Delivery) -> str:
    """The page of a "not in the EHR" row's session or note."""
    return (f"/ui/sessions/{delivery.record_id}" if delivery.record_kind == SESSION_KIND
            else f"/ui/notes/{delivery.record_id}")


# --- errors in the request body's names ----------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldsAsSent:
    """Where a domain record names a field differently from the request body (``measured_at`` for ``at``), and the
    prefix of the record inside the body's error path to drop (``cadss.``)."""

    renames: dict[str, str] = field(default_factory=dict)
    strip_prefix: str = ""


FIELDS_AS_SENT: dict[type[RequestModel], FieldsAsSent] = {
    c.CheckIn: FieldsAsSent({"override.reason": "override_reason", "override.overridden_by": "by"}),
    c.SuicideRiskReview: FieldsAsSent({"reviewed_at": "at", "reviewed_by": "by"}),
    c.HoldOverride: FieldsAsSent({"override.reason": "reason", "override.overridden_at": "at"}),
    c.RecordVitals: FieldsAsSent({"measured_at": "at", "recorded_by": "by", "reading.reading_id": "reading_id"}),
    c.RecordAlertAction: FieldsAsSent({
        "taken_by": "by", "taken_at": "at", "action.taken_at": "at", "action.detail": "detail",
        "action.rate_ml_per_h": "rate_ml_per_h", "action.rescue": "rescue", "action.kind": "kind"}),
    c.RecordPumpChange: FieldsAsSent({"recorded_by": "by"}),
    c.RecordCadssNotRated: FieldsAsSent({"recorded_by": "by", "recorded_at": "at"}),
    # The event's and the adverse event's times are the service's own (``at`` resolved): an error about them is
    # the session's rule on the record (``occurred_at``, ``onset_at``), answered under the record's name.
    c.RecordFlowsheetEvent: FieldsAsSent({"recorded_by": "by"}),
    c.RecordCadss: FieldsAsSent({"assessed_at": "at", "assessed_by": "by"}, strip_prefix="cadss."),
    c.RecordAdverseEvent: FieldsAsSent({"recorded_by": "by"}),
    c.RecordAdministration: FieldsAsSent({"recorded_by": "by"}, strip_prefix="administration."),
    c.RecordControlledSubstance: FieldsAsSent({"recorded_by": "by", "witnessed_at": "at"}),
    c.SignNote: FieldsAsSent({"signer": "by"}),
}


@contextmanager
def fields_as_sent(command: RequestModel) -> Iterator[None]:
    """Rename the field of a domain input error raised while the service runs ``command`` to the request body's
    name for it, so the OperationOutcome (and the page) points at what the client sent."""
    names = FIELDS_AS_SENT.get(type(command))
    if names is None:
        yield
        return
    try:
        yield
    except FieldInputError as error:
        field_name = error.field.removeprefix(names.strip_prefix) if names.strip_prefix else error.field
        field_name = names.renames.get(field_name, field_name)
        if field_name == error.field:
            raise
        raise DocumentationInputError(field_name, error.message) from None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
