"""The service layer: every command of the documentation service, used by the HTTP views and the Kafka handlers.

Each command reads what it needs (the EHR first, outside any transaction), lets the domain validate and decide,
then writes the record and its outbox events in one transaction (``messages`` says which messages a change
produces). A Kafka message is handled inside the consumer's transaction, which also records its id, so a
redelivered message changes nothing.
"""
from __future__ import annotations

from shared.clock import ClinicalClock
from shared.errors import FieldInputError

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone, tzinfo

from sqlalchemy import select
from sqlalchemy.engine import Connection

from services.documentation import commands as rm
from services.documentation.domain import session as s
from services.documentation.domain.administration import AdministrationRecord
from services.documentation.domain.administration import Pause as PauseRecord
from services.documentation.domain.administration import RateChange as RateChangeRecord
from services.documentation.domain.adverse_events import AdverseEventRecord
from services.documentation.domain.cadss import CadssAssessment, CadssNotRated
from services.documentation.domain.controlled_substance import ControlledSubstanceRecord, PersonIdentity
from services.documentation.domain.discharge import AldreteScore, DischargeAssessment
from services.documentation.domain.errors import DocumentationError, DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.errors import input_field
from services.documentation.domain.flowsheet import AlertAction, FlowsheetEvent
from services.documentation.domain.note import amend_note, draft_note, edit_note, generate_note, sign_note
from services.documentation.domain.order import ActiveOrder, OccurrenceStatus, OrderStatus
from services.documentation.domain.plausibility import require_not_in_future
from services.documentation.domain.pre_check import PreCheckConfirmations
from services.documentation.domain.pregnancy import PregnancyApplicability, pregnancy_applicability, record_unreadable
from services.documentation.domain.pump import PumpChange
from services.documentation.domain.reconciliation import reconcile_day
from services.documentation.domain.rescue import RescueMedication
from services.documentation.domain.session import Session, SessionStatus
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.site_readiness import site_readiness
from services.documentation.domain.suicide_risk import CssrsScreen, SuicideRiskReview, field_name, screen_cssrs
from services.documentation.domain.spacing import previous_infusion
from services.documentation.domain.vitals import VitalsReading
from services.documentation.ehr_reads import EhrPatients
from services.documentation.ehr_reads import EhrWeights
from services.documentation.presenters import note_view, session_summary, session_view
from services.documentation.presenters import suicide_risk_view
from services.documentation.messages import EventPublisher
from services.documentation.repository import Loaded, Records
from services.documentation.messages import events_for_change
from services.documentation.translators import message_out
from services.documentation.translators.detected_issue_suicidality_in import alert_from_detected_issue
from services.documentation.translators.observation_vitals_in import vitals_from_observations
from services.documentation.translators.order_in import active_order_from_focus
from shared.db import StaleRecordError, outbox
from shared.events.consumer import PermanentError, TransientError
from shared.events.event_codes import EHR_VITALS_RECORDED, NOTE_SIGNED
from shared.fhir.client import FhirError
from shared.fhir.messaging import Message, ResponseCode
from shared.scales import CssrsItem
from shared.roles import ATTESTATIONS
from shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)

ORDERS_SERVICE = "Ketalink orders service"  # who a change made by an order event is recorded as
SessionChange = Callable[[Session, ActiveOrder], Session]
_ORDER_ENDED = (OrderStatus.CANCELLED, OrderStatus.COMPLETED)
_RECEIVES_EHR_VITALS = (SessionStatus.INFUSING, SessionStatus.RECOVERING)


def new_id() -> str:
    return str(uuid.uuid4())


def note_id_for(session_id: str, version: int) -> str:
    """One id per version of a session's note: two clinicians drafting (or amending) at once cannot both succeed,
    the second gets a conflict instead of a second version of the same number."""
    return f"{session_id}-note-v{version}"


class DocumentationService:
    def __init__(self, runtime: ServiceRuntime, settings: SessionSettings, clock: ClinicalClock,
                 weights: EhrWeights, records: Records | None = None, clinic_zone: tzinfo = timezone.utc,
                 patients: EhrPatients | None = None):
        self._runtime = runtime
        self._settings = settings
        self._clock = clock
        self._weights = weights
        self._patients = patients or EhrPatients(runtime.ehr)
        self._records = records or Records()
        self._clinic_zone = clinic_zone  # what a clinic day is (the controlled-substance reconciliation)
        self._publisher = EventPublisher(runtime)

    # --- reads -----------------------------------------------------------------------------------------------
    def sessions_for_patient(self, patient_id: str) -> list[dict]:
        with self._runtime.engine.connect() as conn:
            return [session_summary(loaded.record) for loaded in self._records.sessions_for_patient(conn, patient_id)]

    def session(self, session_id: str) -> dict:
        with self._runtime.engine.connect() as conn:
            session = self._records.session(conn, session_id).record
            order = self._records.order(conn, session.order_id).record
        return self._view(session, order)

    # --- session steps ---------------------------------------------------------------------------------------
    def check_in(self, session_id: str, command: rm.CheckIn) -> dict:
        """Checked against the session's window and the previous infusion of its series, in the transaction that
        records it, so two check-ins at once cannot both pass the interval rule unseen. Infusions of the patient's
        other series are not counted here (a series follows a completed or cancelled one, and starts no earlier
        than the day it is signed): see the hazard log, HZ-06."""
        at = self._clock.resolve(command.at)
        with self._runtime.transaction() as conn:
            loaded = self._records.session(conn, session_id)
            order = self._records.order(conn, loaded.record.order_id).record
            previous_at = previous_infusion(
                (other.record.infusion_started_at for other in self._records.sessions_for_patient(
                    conn, loaded.record.patient_id)
                 if other.record.session_id != session_id and other.record.series_id == loaded.record.series_id),
                at)
            with _fields_as_sent({"override.reason": "override_reason", "override.overridden_by": "override_by"}):
                session = self._apply(conn, loaded, order, lambda current, current_order: s.check_in(
                    current, current_order, command.by, at, self._settings, previous_infusion_at=previous_at,
                    override_reason=command.override_reason or "", override_by=command.override_by or ""))
        return self._view(session, order)

    def pre_check(self, session_id: str, command: rm.PreCheck) -> dict:
        """Reads the latest weight (and the weight the dose came from) and the Patient's sex and birth date (whether
        the pregnancy check may be "not applicable") from the EHR before anything is written."""
        at = self._clock.resolve(command.at)
        for name in ("last_solid_food_at", "last_clear_fluids_at"):  # not in the future (beyond the clock skew)
            self._clock.check(getattr(command.confirmations, name), f"confirmations.{name}")
        with self._runtime.engine.connect() as conn:
            session = self._records.session(conn, session_id).record
            order = self._records.order(conn, session.order_id).record
        latest_weight_kg = self._weights.latest_kg(session.patient_id)
        # The order carries its actual weight; the EHR's Observation is read only for an order that does not.
        order_weight_kg = (self._weights.observation_kg(order.weight_observation_reference)
                           if order.actual_weight_kg is None and order.weight_observation_reference else None)
        values = command.reading.model_dump(exclude={"reading_id"})
        with input_field("reading"):
            reading = VitalsReading(reading_id=command.reading.reading_id or new_id(), measured_at=at,
                                    recorded_by=command.by, **values)
        confirmations = PreCheckConfirmations(**command.confirmations.model_dump())
        pregnancy = self.pregnancy_for(session.patient_id, at)
        readiness = (site_readiness(command.site_readiness, self._settings, command.by, at)
                     if command.site_readiness is not None else None)

        def change(current: Session, current_order: ActiveOrder) -> Session:
            _require_unused_reading_id(current, reading.reading_id, "reading.reading_id")
            cssrs = self._day_cssrs(current, command, at)
            return s.record_pre_check(current, current_order, reading, confirmations, latest_weight_kg,
                                      self._settings, command.by, at, order_weight_kg=order_weight_kg,
                                      cssrs=cssrs, site_readiness=readiness, pregnancy=pregnancy)

        return self._change(session_id, change)

    def pre_check_context(self, session_id: str) -> dict:
        """For the pre-check page: whether "not applicable" may be offered for the pregnancy check today (from the
        EHR record), the clinic's fasting windows and the readings the check requires (marked required)."""
        with self._runtime.engine.connect() as conn:
            session = self._records.session(conn, session_id).record
        return {"pregnancy": self.pregnancy_for(session.patient_id, self._clock.now()).to_dict(),
                "fasting_solids_hours": self._settings.fasting_solids_hours,
                "fasting_clear_fluids_hours": self._settings.fasting_clear_fluids_hours,
                "required_readings": self._settings.pre_check_required_readings}

    def pregnancy_for(self, patient_id: str, at: datetime) -> PregnancyApplicability:
        """From the EHR Patient on the clinic day of ``at``; a Patient the EHR cannot give keeps the check
        applicable (fail safe: "not applicable" is then refused)."""
        try:
            patient = self._patients.record(patient_id)
        except FhirError as error:
            log.warning("pre-check: the EHR Patient could not be read (HTTP %s); the pregnancy check stays "
                        "applicable", error.status)
            return record_unreadable(f"the EHR answered HTTP {error.status}" if error.status else
                                     "the EHR cannot be reached")
        return pregnancy_applicability(patient.sex, patient.birth_date, at.astimezone(self._clinic_zone).date(),
                                       self._settings)

    def _day_cssrs(self, session: Session, command: rm.PreCheck, at: datetime) -> CssrsScreen | None:
        """The screener sent with this check; required on the day's first check while the clinic requires it."""
        if command.cssrs is None:
            if self._settings.pre_check_cssrs_required and session.latest_cssrs is None:
                raise DocumentationInputError("cssrs", "the day's C-SSRS screener is required with the first "
                                                       "pre-infusion check")
            return None
        answers = {item.value: getattr(command.cssrs, field_name(item)) for item in CssrsItem}
        screening_id = f"{session.session_id}-cssrs-{len(session.cssrs_screens) + 1}"
        return screen_cssrs(screening_id, answers, self._settings, command.by, at)

    def review_suicide_risk(self, session_id: str, command: rm.SuicideRiskReview) -> dict:
        """The clinician's documented review (who = the signed-in clinician, ``by``), against the alerts open now."""
        at = self._clock.resolve(command.at)
        with _fields_as_sent({"reviewed_at": "at", "reviewed_by": "by"}):
            review = SuicideRiskReview(reviewed_by=command.by, reviewed_at=at, decision=command.decision,
                                       note=command.note.strip())

            def change(session: Session, _order: ActiveOrder, conn: Connection) -> Session:
                alerts = self._records.open_suicidality_alerts(conn, session.patient_id)
                return s.review_suicide_risk(session, alerts, review, self._settings)

            return self._change_reading(session_id, change)

    def override_hold(self, session_id: str, command: rm.HoldOverride) -> dict:
        at = self._clock.resolve(command.at)
        with _fields_as_sent({"override.reason": "reason", "override.overridden_at": "at"}):
            return self._change(session_id, lambda session, _order: s.override_pre_check_hold(
                session, command.reason, command.by, at))

    def start_infusion(self, session_id: str, command: rm.StartInfusion) -> dict:
        """Refused while the day's suicide-risk check is not done (C-SSRS, reviews of high risk and open alerts)."""
        at = self._clock.resolve(command.at)
        return self._change_reading(session_id, lambda session, order, conn: s.start_infusion(
            session, order, command.by, at, self._settings,
            self._records.open_suicidality_alerts(conn, session.patient_id)))

    def record_vitals(self, session_id: str, command: rm.RecordVitals) -> dict:
        at = self._clock.resolve(command.at)
        values = command.model_dump(include=set(rm.VitalSigns.model_fields))
        with _fields_as_sent({"measured_at": "at", "recorded_by": "by", "reading.reading_id": "reading_id"}):
            reading = VitalsReading(reading_id=command.reading_id or new_id(), measured_at=at,
                                    recorded_by=command.by, **values)

            def change(session: Session, _order: ActiveOrder) -> Session:
                _require_unused_reading_id(session, reading.reading_id, "reading_id", pre_checks_only=True)
                return s.record_vitals(session, reading, self._settings)

            view = self._change(session_id, change)
        view["recorded"] = {"reading_id": reading.reading_id,
                            "alert_id": next((a["alert_id"] for a in view["alerts"]
                                              if a["reading_id"] == reading.reading_id), None)}
        return view

    def record_alert_action(self, session_id: str, alert_id: str, command: rm.RecordAlertAction) -> dict:
        at = self._clock.resolve(command.at)
        renames = {"taken_by": "by", "taken_at": "at", "action.taken_at": "at", "action.detail": "detail",
                   "action.rate_ml_per_h": "rate_ml_per_h", "action.rescue": "rescue", "action.kind": "kind"}
        with _fields_as_sent(renames):
            with input_field("rescue"):
                rescue = RescueMedication(**command.rescue.model_dump()) if command.rescue else None
            action = AlertAction(kind=command.kind, taken_by=command.by, taken_at=at, detail=command.detail,
                                 rate_ml_per_h=command.rate_ml_per_h, rescue=rescue)
            return self._change(session_id, lambda session, _order: s.record_action(session, alert_id, action))

    def record_pump_change(self, session_id: str, command: rm.RecordPumpChange) -> dict:
        at = self._clock.resolve(command.at)
        with _fields_as_sent({"recorded_by": "by"}):
            change = PumpChange(change_id=command.change_id or new_id(), kind=command.kind, at=at,
                                recorded_by=command.by, rate_ml_per_h=command.rate_ml_per_h, reason=command.reason)
        view = self._change(session_id, lambda session, _order: s.record_pump_change(session, change))
        view["recorded"] = {"change_id": change.change_id}
        return view

    def record_cadss_not_rated(self, session_id: str, command: rm.RecordCadssNotRated) -> dict:
        at = self._clock.resolve(command.at)
        with _fields_as_sent({"recorded_by": "by", "recorded_at": "at"}):
            not_rated = CadssNotRated(reason=command.reason, recorded_by=command.by, recorded_at=at,
                                      scheduled_minute=command.scheduled_minute,
                                      end_of_recovery=command.end_of_recovery)
            return self._change(session_id, lambda session, _order: s.record_cadss_not_rated(
                session, not_rated, self._settings))

    def record_event(self, session_id: str, command: rm.RecordFlowsheetEvent) -> dict:
        at = self._clock.resolve(command.at)
        with _fields_as_sent({"occurred_at": "at", "recorded_by": "by"}):
            event = FlowsheetEvent(event_id=command.event_id or new_id(), occurred_at=at, recorded_by=command.by,
                                   text=command.text, code_system=command.code_system, code=command.code,
                                   code_display=command.code_display)
        view = self._change(session_id, lambda session, _order: s.record_event(session, event, self._settings))
        view["recorded"] = {"event_id": event.event_id}
        return view

    def record_cadss(self, session_id: str, command: rm.RecordCadss) -> dict:
        at = self._clock.resolve(command.at)
        with _fields_as_sent({"assessed_at": "at", "assessed_by": "by"}, strip_prefix="cadss."):
            assessment = CadssAssessment(
                assessment_id=command.assessment_id or new_id(), form=command.form,
                item_scores=tuple(command.item_scores), assessed_at=at, assessed_by=command.by,
                scheduled_minute=command.scheduled_minute, end_of_recovery=command.end_of_recovery)
            view = self._change(session_id, lambda session, _order: s.record_cadss(session, assessment,
                                                                                   self._settings))
        view["recorded"] = {"assessment_id": assessment.assessment_id, "total": assessment.total}
        return view

    def record_adverse_event(self, session_id: str, command: rm.RecordAdverseEvent) -> dict:
        at = self._clock.resolve(command.at)
        with _fields_as_sent({"onset_at": "at", "recorded_by": "by"}):
            event = AdverseEventRecord(
                event_id=command.event_id or new_id(), kind=command.kind, severity=command.severity,
                outcome=command.outcome, onset_at=at, recorded_by=command.by, description=command.description,
                action_taken=command.action_taken, serious=command.serious)
        view = self._change(session_id, lambda session, _order: s.record_adverse_event(session, event,
                                                                                          self._settings))
        view["recorded"] = {"event_id": event.event_id}
        return view

    def record_administration(self, session_id: str, command: rm.RecordAdministration) -> dict:
        self._clock.check(command.started_at, "started_at")
        self._clock.check(command.stopped_at, "stopped_at")
        def change(session: Session, order: ActiveOrder) -> Session:
            rate_changes = tuple(RateChangeRecord(c.at, c.rate_ml_per_h) for c in command.rate_changes)
            pauses = tuple(PauseRecord(p.paused_at, p.resumed_at, p.reason) for p in command.pauses)
            charted = session.charted_infusion(order, command.stopped_at)
            if not rate_changes and charted is not None:  # taken from the chart
                rate_changes = (RateChangeRecord(command.started_at, charted.rate_changes[0].rate_ml_per_h),)
                rate_changes += tuple(c for c in charted.rate_changes[1:] if command.started_at < c.at)
                pauses = pauses or charted.pauses
            record = AdministrationRecord(
                started_at=command.started_at, stopped_at=command.stopped_at, rate_changes=rate_changes,
                pauses=pauses, lot_number=command.lot_number, lot_expiry=command.lot_expiry, recorded_by=command.by,
                concentration_mg_per_ml=command.concentration_mg_per_ml, entered_total_ml=command.entered_total_ml,
                entered_total_mg=command.entered_total_mg, dose_discrepancy_reason=command.dose_discrepancy_reason)
            return s.record_administration(session, order, record, self._settings)

        with _fields_as_sent({"recorded_by": "by"}, strip_prefix="administration."):
            return self._change(session_id, change)

    def review_administration(self, session_id: str, command: rm.ReviewAdministration) -> dict:
        at = self._clock.resolve(command.at)
        return self._change(session_id, lambda session, _order: s.review_given_against_ordered(
            session, command.by, at, command.comment, self._settings))

    def record_controlled_substance(self, session_id: str, command: rm.RecordControlledSubstance) -> dict:
        at = self._clock.resolve(command.at)
        renames = {"recorded_by": "by", "witnessed_at": "at", "recorded_by_reference": "by_reference"}
        with _fields_as_sent(renames):
            with input_field("witness"):
                witness = PersonIdentity(**command.witness.model_dump())
            record = ControlledSubstanceRecord(
                product=command.product, product_code=command.product_code, lot_number=command.lot_number,
                lot_expiry=command.lot_expiry, drawn_mg=command.drawn_mg, given_mg=command.given_mg,
                wasted_mg=command.wasted_mg, waste_method=command.waste_method, recorded_by=command.by,
                recorded_by_reference=command.by_reference, recorded_at=self._clock.now(), witness=witness,
                witnessed_at=at)

            def change(session: Session, order: ActiveOrder, conn: Connection) -> Session:
                notes = self._records.notes_for_session(conn, session)
                return s.record_controlled_substance(session, record, self._settings, order,
                                                     note_signed=bool(notes) and notes[-1].record.is_signed)

            return self._change_reading(session_id, change)

    def controlled_substance_reconciliation(self, day: date) -> dict:
        """A clinic day's controlled-substance totals per product and lot, and every discrepancy."""
        with self._runtime.engine.connect() as conn:
            sessions = [loaded.record for loaded in self._records.all_sessions(conn)]
        return reconcile_day(sessions, day, self._clinic_zone).to_dict()

    def end_infusion(self, session_id: str, command: rm.EndInfusion) -> dict:
        at = self._clock.resolve(command.at)
        return self._change(session_id, lambda session, _order: s.end_infusion(session, command.by, at))

    def discharge(self, session_id: str, command: rm.Discharge) -> dict:
        at = self._clock.resolve(command.at)
        aldrete = AldreteScore(**command.aldrete.model_dump()) if command.aldrete else None
        given = self._settings.discharge_instructions if command.instructions_acknowledged else ()
        assessment = DischargeAssessment(mental_status_at_baseline=command.mental_status_at_baseline,
                                         escort_present=command.escort_present, assessed_by=command.by,
                                         assessed_at=at, aldrete=aldrete, escort_name=command.escort_name.strip(),
                                         escort_relationship=command.escort_relationship.strip(),
                                         instructions_given=given,
                                         instructions_acknowledged=command.instructions_acknowledged,
                                         safety_plan_confirmed=command.safety_plan_confirmed)
        return self._change(session_id, lambda session, _order: s.discharge(
            session, assessment, self._settings, command.by, at, command.override_reason))

    def complete_follow_up_call(self, session_id: str, command: rm.CompleteFollowUpCall) -> dict:
        at = self._clock.resolve(command.at)
        return self._change(session_id, lambda session, _order: s.complete_follow_up_call(
            session, command.outcome, command.note, command.by, at))

    def defer(self, session_id: str, command: rm.Defer) -> dict:
        at = self._clock.resolve(command.at)
        return self._change(session_id, lambda session, _order: s.defer(session, command.reason, command.by, at))

    def abort(self, session_id: str, command: rm.Abort) -> dict:
        at = self._clock.resolve(command.at)
        return self._change(session_id, lambda session, _order: s.abort(session, command.reason, command.by, at))

    # --- procedure note --------------------------------------------------------------------------------------
    def preview_note(self, session_id: str) -> dict:
        with self._runtime.engine.connect() as conn:
            session = self._records.session(conn, session_id).record
            order = self._records.order(conn, session.order_id).record
        return {"session_id": session_id, "status": session.status.value,
                "text": generate_note(session, order, self._settings, self._clock.now())}

    def notes(self, session_id: str) -> list[dict]:
        with self._runtime.engine.connect() as conn:
            session = self._records.session(conn, session_id).record
            return _note_views(self._records.notes_for_session(conn, session))

    def note(self, note_id: str) -> dict:
        with self._runtime.engine.connect() as conn:
            note = self._records.note(conn, note_id).record
            session = self._records.session(conn, note.session_id).record
            views = _note_views(self._records.notes_for_session(conn, session))
        return next(view for view in views if view["note_id"] == note_id)

    def draft_note(self, session_id: str, command: rm.DraftNote) -> dict:
        at = self._clock.resolve(command.at)
        with self._runtime.transaction() as conn:
            session = self._records.session(conn, session_id).record
            existing = self._records.notes_for_session(conn, session)
            if existing:
                latest = existing[-1].record
                raise TransitionNotAllowed(f"session {session_id} already has note {latest.note_id} "
                                           f"({latest.status.value}): edit or amend it")
            order = self._records.order(conn, session.order_id).record
            note = draft_note(session, order, note_id_for(session.session_id, 1), command.by, at,
                              settings=self._settings)
            self._records.add_note(conn, note)
        return note_view(note)

    def edit_note(self, note_id: str, command: rm.EditNote) -> dict:
        with self._runtime.transaction() as conn:
            loaded = self._records.note(conn, note_id)
            note = self._records.save(conn, loaded, edit_note(loaded.record, command.text)).record
        return note_view(note)

    def sign_note(self, note_id: str, command: rm.SignNote) -> dict:
        at = self._clock.resolve(command.at)
        with _fields_as_sent({"signer": "by"}), self._runtime.transaction() as conn:
            loaded = self._records.note(conn, note_id)
            session = self._records.session(conn, loaded.record.session_id).record
            note = self._records.save(conn, loaded, sign_note(
                loaded.record, command.by, at, session, attestation=ATTESTATIONS["sign-note"],
                controlled_substance_tolerance_mg=self._settings.controlled_substance_tolerance_mg)).record
            self._publisher.publish(conn, NOTE_SIGNED, note.patient_id,
                                    message_out.note_signed_focus(note), author_display=note.signed_by)
        log.info("note signed", extra={"note_id": note.note_id, "session_id": note.session_id})
        return note_view(note)

    def amend_note(self, note_id: str, command: rm.AmendNote) -> dict:
        at = self._clock.resolve(command.at)
        with self._runtime.transaction() as conn:
            loaded = self._records.note(conn, note_id)
            session = self._records.session(conn, loaded.record.session_id).record
            latest = self._records.notes_for_session(conn, session)[-1].record
            if latest.note_id != note_id:
                raise TransitionNotAllowed(f"note {note_id} was replaced by version {latest.version} "
                                           f"({latest.note_id}): amend that one")
            amended = amend_note(loaded.record, note_id_for(session.session_id, latest.version + 1), command.text,
                                 command.by, at)
            self._records.add_note(conn, amended)
        return note_view(amended)

    # --- Kafka: orders ---------------------------------------------------------------------------------------
    def on_order_event(self, message: Message, conn: Connection) -> None:
        """``order-signed`` / ``order-changed`` / ``order-cancelled``: store the order, schedule one session per
        scheduled occurrence, move scheduled sessions to a changed window, cancel those of cancelled infusions."""
        try:
            order = active_order_from_focus(message.resources)
        except FieldInputError as error:
            raise PermanentError(f"{message.event_code}: {error}") from None
        try:
            stored = self._records.find_order(conn, order.order_id)
            if stored is None:
                self._records.add_order(conn, order)
            elif stored.record.patient_id != order.patient_id:
                raise PermanentError(f"order {order.order_id} belongs to another patient than the one stored")
            elif stored.record != order:
                self._records.save(conn, stored, order)
            created, changed = self._schedule_sessions(conn, order)
        except StaleRecordError as error:
            raise TransientError(str(error)) from None  # a clinician changed a session meanwhile: read it again
        except DocumentationError as error:
            raise PermanentError(f"{message.event_code}: {error}") from None
        log.info("order applied", extra={"order_id": order.order_id, "event_code": message.event_code,
                                         "order_status": order.status.value, "sessions_created": created,
                                         "sessions_changed": changed})

    def _schedule_sessions(self, conn: Connection, order: ActiveOrder) -> tuple[int, int]:
        created = changed = 0
        now = self._clock.now()
        for occurrence in order.occurrences:
            session_id = s.session_id_for(order, occurrence.number)
            loaded = self._records.find_session(conn, session_id)
            if loaded is None:
                if occurrence.status is OccurrenceStatus.SCHEDULED and order.status not in _ORDER_ENDED:
                    self._records.add_session(conn, s.create_session(order, occurrence.number))
                    created += 1
                continue
            session = loaded.record
            if session.status is not SessionStatus.SCHEDULED:
                continue  # begun or ended: its history stands; a start is refused while the order is not active
            if order.status in _ORDER_ENDED or occurrence.status is not OccurrenceStatus.SCHEDULED:
                reason = f"order {order.status.value}" if order.status in _ORDER_ENDED else \
                    f"infusion {occurrence.number} {occurrence.status.value} in the order"
                updated = s.cancel(session, reason, ORDERS_SERVICE, now)
            else:
                updated = s.apply_order_update(session, order)
            if updated != session:
                self._records.save(conn, loaded, updated)
                changed += 1
        return created, changed

    # --- Kafka: vitals from the EHR or a device ----------------------------------------------------------------
    def on_ehr_vitals(self, message: Message, conn: Connection) -> None:
        """``vitals-recorded`` on ehr.events: the reading goes to the flowsheet of the patient's session that is
        infusing or recovering; with none, it is not for us (logged, not an error)."""
        try:
            inbound = vitals_from_observations(message.all("Observation"))
        except FieldInputError as error:
            raise PermanentError(f"{EHR_VITALS_RECORDED}: {error}") from None
        candidates = [loaded for loaded in self._records.sessions_for_patient(conn, inbound.patient_id)
                      if loaded.record.status in _RECEIVES_EHR_VITALS]
        if not candidates:
            log.info("EHR vitals ignored: no infusing or recovering session",
                     extra={"message_id": message.message_id, "patient_id": inbound.patient_id})
            return
        loaded = max(candidates, key=lambda item: item.record.transitions[-1].at)  # the most recent step
        try:  # issue 13 defect 24: a device clock in the future is refused like a clinician's (no clock on Kafka)
            require_not_in_future("Observation.effectiveDateTime", inbound.reading.measured_at, self._clock.now(),
                                  self._clock.future_tolerance)
        except FieldInputError as error:
            raise PermanentError(f"{EHR_VITALS_RECORDED}: {error}") from None
        order = self._records.order(conn, loaded.record.order_id).record
        try:
            self._apply(conn, loaded, order, lambda session, _order: s.record_vitals(session, inbound.reading,
                                                                                     self._settings))
        except StaleRecordError as error:
            raise TransientError(str(error)) from None
        except DocumentationError as error:
            raise PermanentError(f"{EHR_VITALS_RECORDED}: {error}") from None
        log.info("EHR vitals charted", extra={"message_id": message.message_id,
                                              "session_id": loaded.record.session_id})

    # --- Kafka: the course's suicidality alerts (issue 13 defect 5) -------------------------------------------------
    def on_suicidality_alert(self, message: Message, conn: Connection) -> None:
        """``suicidality-alert`` / ``suicidality-alert-acknowledged`` on ketalink.orders.events: kept per patient so
        the pre-infusion check sees every open alert. An acknowledgement closes the alert (also one not seen
        before); a redelivered or late "raised" never reopens an acknowledged alert."""
        try:
            alerts = [alert_from_detected_issue(resource) for resource in message.all("DetectedIssue")]
        except ValueError as error:  # a mapping or FHIR validation error: the message cannot be read, ever
            raise PermanentError(f"{message.event_code}: {error}") from None
        if not alerts:
            raise PermanentError(f"{message.event_code}: no DetectedIssue in the message")
        try:
            for alert in alerts:
                stored = self._records.find_suicidality_alert(conn, alert.alert_id)
                if stored is None:
                    self._records.add_suicidality_alert(conn, alert)
                elif stored.record.is_open and not alert.is_open:
                    self._records.save(conn, stored, alert)
        except StaleRecordError as error:
            raise TransientError(str(error)) from None
        log.info("suicidality alert noted", extra={"message_id": message.message_id, "event_code":
                                                   message.event_code, "alerts": len(alerts)})

    # --- Kafka: the EHR's responses ----------------------------------------------------------------------------
    def on_ehr_response(self, message: Message, conn: Connection) -> None:
        """A response to one of this service's messages is logged (a refusal as a warning); responses to other
        services' messages (``ehr.responses`` is shared) are not ours."""
        sent_by_us = conn.execute(select(outbox.c.event_code).where(outbox.c.message_id == message.response_to)
                                  ).first()
        if sent_by_us is None:
            return
        outcome = {"message_id": message.response_to, "event_code": sent_by_us.event_code,
                   "response": message.response_code.value if message.response_code else "none"}
        if message.response_code is ResponseCode.OK:
            log.info("EHR applied message", extra=outcome)
        else:
            log.warning("EHR did not apply message", extra=outcome)

    # --- plumbing --------------------------------------------------------------------------------------------
    def _change(self, session_id: str, change: SessionChange) -> dict:
        """One session step over HTTP: load, let the domain change it, save it with its events in one transaction."""
        with self._runtime.transaction() as conn:
            loaded = self._records.session(conn, session_id)
            order = self._records.order(conn, loaded.record.order_id).record
            session = self._apply(conn, loaded, order, change)
        return self._view(session, order)

    def _change_reading(self, session_id: str,
                        change: Callable[[Session, ActiveOrder, Connection], Session]) -> dict:
        """``_change`` for a step that also reads other records in the same transaction (the open alerts)."""
        with self._runtime.transaction() as conn:
            loaded = self._records.session(conn, session_id)
            order = self._records.order(conn, loaded.record.order_id).record
            session = self._apply(conn, loaded, order, lambda current, current_order: change(current, current_order,
                                                                                             conn))
        return self._view(session, order)

    def _apply(self, conn: Connection, loaded: Loaded[Session], order: ActiveOrder, change: SessionChange) -> Session:
        updated = change(loaded.record, order)
        if updated == loaded.record:
            return updated  # e.g. a redelivered reading: nothing to save or send
        self._records.save(conn, loaded, updated)
        for event in events_for_change(loaded.record, updated, order):
            self._publisher.publish(conn, event.event_code, updated.patient_id, event.focus, event.author_display)
        if updated.status is not loaded.record.status:
            log.info("session step", extra={"session_id": updated.session_id, "from_status":
                                            loaded.record.status.value, "to_status": updated.status.value})
        return updated

    def _view(self, session: Session, order: ActiveOrder) -> dict:
        view = session_view(session, order, self._clock.now(), self._settings)
        if session.status in (SessionStatus.CHECKED_IN, SessionStatus.PRE_CHECK):
            with self._runtime.engine.connect() as conn:
                open_alerts = self._records.open_suicidality_alerts(conn, session.patient_id)
        else:
            open_alerts = ()
        view["suicide_risk"] = suicide_risk_view(session, open_alerts, self._settings)
        view["site_readiness_items"] = list(self._settings.site_readiness_items)
        if view["pre_check"] is not None:
            view["pre_check"]["blocking_reasons"] += view["suicide_risk"]["blocking_reasons"]
        return view


def _require_unused_reading_id(session: Session, reading_id: str, field: str, pre_checks_only: bool = False) -> None:
    """Pre-check and flowsheet readings share the EHR identifier space ({session}/{reading}/{measure})."""
    used = {attempt.reading.reading_id for attempt in session.pre_checks}
    if not pre_checks_only:
        used |= {reading.reading_id for reading in session.readings}
    if reading_id in used:
        raise DocumentationInputError(field, f"reading {reading_id} already recorded")


def _note_views(notes: list[Loaded]) -> list[dict]:
    replaced_by = {n.record.replaces_note_id: n.record.note_id for n in notes if n.record.replaces_note_id}
    return [note_view(n.record, replaced_by.get(n.record.note_id, "")) for n in notes]


@contextmanager
def _fields_as_sent(renames: dict[str, str], strip_prefix: str = "") -> Iterator[None]:
    """Rename the field of a domain input error to the request body's name for it (the domain says
    ``measured_at`` where the body says ``at``), so the OperationOutcome points at what the client sent."""
    try:
        yield
    except FieldInputError as error:
        field = error.field.removeprefix(strip_prefix) if strip_prefix else error.field
        field = renames.get(field, field)
        if field == error.field:
            raise
        raise DocumentationInputError(field, error.message) from None
