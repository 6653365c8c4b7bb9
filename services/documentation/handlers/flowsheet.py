"""What is charted during and after the infusion: vital signs and the actions on their alerts, pump changes,
flowsheet events, CADSS ratings (or why one was not rated), adverse events, the administration record and its
review, and the controlled-substance record with the clinic day's reconciliation."""
from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Connection

from services.documentation import commands as c
from services.documentation.domain import session as s
from services.documentation.domain.administration import AdministrationRecord
from services.documentation.domain.administration import Pause as PauseRecord
from services.documentation.domain.administration import RateChange as RateChangeRecord
from services.documentation.domain.adverse_events import AdverseEventRecord
from services.documentation.domain.cadss import CadssAssessment, CadssNotRated
from services.documentation.domain.controlled_substance import ControlledSubstanceRecord, PersonIdentity
from services.documentation.domain.errors import DocumentationInputError, input_field
from services.documentation.domain.flowsheet import AlertAction, FlowsheetEvent
from services.documentation.domain.order import ActiveOrder
from services.documentation.domain.pump import PumpChange
from services.documentation.domain.reconciliation import DayReconciliation, reconcile_day
from services.documentation.domain.rescue import RescueMedication
from services.documentation.domain.session import Session
from services.documentation.domain.vitals import VitalsReading
from services.documentation.handlers.core import (
    Recorded, ServiceCore, SessionState, new_id, require_unused_reading_id,
)
from shared.people import UnknownClinician, clinician_in_ehr


class FlowsheetSteps(ServiceCore):
    def record_vitals(self, session_id: str, command: c.RecordVitals) -> Recorded[VitalsReading]:
        at = self._clock.resolve(command.at)
        values = command.model_dump(include=set(c.VitalSigns.model_fields))
        reading = VitalsReading(reading_id=command.reading_id or new_id(), measured_at=at,
                                recorded_by=command.actor, **values)

        def change(session: Session, _order: ActiveOrder) -> Session:
            require_unused_reading_id(session, reading.reading_id, "reading_id", pre_checks_only=True)
            return s.record_vitals(session, reading, self._settings)

        return Recorded(self._change(session_id, change), reading)

    def record_alert_action(self, session_id: str, alert_id: str, command: c.RecordAlertAction) -> SessionState:
        at = self._clock.resolve(command.at)
        with input_field("rescue"):
            rescue = RescueMedication(**command.rescue.model_dump()) if command.rescue else None
        action = AlertAction(kind=command.kind, taken_by=command.actor, taken_at=at, detail=command.detail,
                             rate_ml_per_h=command.rate_ml_per_h, rescue=rescue)
        return self._change(session_id, lambda session, _order: s.record_action(session, alert_id, action))

    def record_pump_change(self, session_id: str, command: c.RecordPumpChange) -> Recorded[PumpChange]:
        at = self._clock.resolve(command.at)
        change = PumpChange(change_id=command.change_id or new_id(), kind=command.kind, at=at,
                            recorded_by=command.actor, rate_ml_per_h=command.rate_ml_per_h, reason=command.reason)
        return Recorded(self._change(session_id, lambda session, _order: s.record_pump_change(session, change)),
                        change)

    def record_cadss_not_rated(self, session_id: str, command: c.RecordCadssNotRated) -> SessionState:
        at = self._clock.resolve(command.at)
        not_rated = CadssNotRated(reason=command.reason, recorded_by=command.actor, recorded_at=at,
                                  scheduled_minute=command.scheduled_minute, end_of_recovery=command.end_of_recovery)
        return self._change(session_id, lambda session, _order: s.record_cadss_not_rated(
            session, not_rated, self._settings))

    def record_event(self, session_id: str, command: c.RecordFlowsheetEvent) -> Recorded[FlowsheetEvent]:
        at = self._clock.resolve(command.at)
        event = FlowsheetEvent(event_id=command.event_id or new_id(), occurred_at=at, recorded_by=command.actor,
                               text=command.text, code_system=command.code_system, code=command.code,
                               code_display=command.code_display)
        return Recorded(self._change(session_id, lambda session, _order: s.record_event(session, event,
                                                                                        self._settings)), event)

    def record_cadss(self, session_id: str, command: c.RecordCadss) -> Recorded[CadssAssessment]:
        at = self._clock.resolve(command.at)
        assessment = CadssAssessment(
            assessment_id=command.assessment_id or new_id(), form=command.form,
            item_scores=tuple(command.item_scores), assessed_at=at, assessed_by=command.actor,
            scheduled_minute=command.scheduled_minute, end_of_recovery=command.end_of_recovery)
        return Recorded(self._change(session_id, lambda session, _order: s.record_cadss(session, assessment,
                                                                                        self._settings)),
                        assessment)

    def record_adverse_event(self, session_id: str, command: c.RecordAdverseEvent) -> Recorded[AdverseEventRecord]:
        at = self._clock.resolve(command.at)
        event = AdverseEventRecord(
            event_id=command.event_id or new_id(), kind=command.kind, severity=command.severity,
            outcome=command.outcome, onset_at=at, recorded_by=command.actor, description=command.description,
            action_taken=command.action_taken, serious=command.serious)
        return Recorded(self._change(session_id, lambda session, _order: s.record_adverse_event(
            session, event, self._settings)), event)

    def record_administration(self, session_id: str, command: c.RecordAdministration) -> SessionState:
        self._clock.check(command.started_at, "started_at")
        self._clock.check(command.stopped_at, "stopped_at")

        def change(session: Session, order: ActiveOrder) -> Session:
            rate_changes = tuple(RateChangeRecord(r.at, r.rate_ml_per_h) for r in command.rate_changes)
            pauses = tuple(PauseRecord(p.paused_at, p.resumed_at, p.reason) for p in command.pauses)
            charted = session.charted_infusion(order, command.stopped_at)
            if not rate_changes and charted is not None:  # taken from the chart
                rate_changes = (RateChangeRecord(command.started_at, charted.rate_changes[0].rate_ml_per_h),)
                rate_changes += tuple(r for r in charted.rate_changes[1:] if command.started_at < r.at)
                pauses = pauses or charted.pauses
            record = AdministrationRecord(
                started_at=command.started_at, stopped_at=command.stopped_at, rate_changes=rate_changes,
                pauses=pauses, lot_number=command.lot_number, lot_expiry=command.lot_expiry, recorded_by=command.actor,
                concentration_mg_per_ml=command.concentration_mg_per_ml, entered_total_ml=command.entered_total_ml,
                entered_total_mg=command.entered_total_mg, dose_discrepancy_reason=command.dose_discrepancy_reason)
            return s.record_administration(session, order, record, self._settings)

        return self._change(session_id, change)

    def review_administration(self, session_id: str, command: c.ReviewAdministration) -> SessionState:
        at = self._clock.resolve(command.at)
        return self._change(session_id, lambda session, _order: s.review_given_against_ordered(
            session, command.actor, at, command.comment, self._settings))

    def record_controlled_substance(self, session_id: str, command: c.RecordControlledSubstance) -> SessionState:
        at = self._clock.resolve(command.at)
        try:  # the witness as the EHR knows them: an existing Practitioner, with the EHR's name for them
            witness_person = clinician_in_ehr(command.witness.reference, self._runtime.ehr)
        except UnknownClinician as error:
            raise DocumentationInputError("witness.reference", str(error)) from None
        with input_field("witness"):
            witness = PersonIdentity(reference=witness_person.reference or "", display=witness_person.display)
        record = ControlledSubstanceRecord(
            product=command.product, product_code=command.product_code, lot_number=command.lot_number,
            lot_expiry=command.lot_expiry, drawn_mg=command.drawn_mg, given_mg=command.given_mg,
            wasted_mg=command.wasted_mg, waste_method=command.waste_method, recorded_by=command.actor,
            recorded_at=self._clock.now(), witness=witness,
            witnessed_at=at)

        def change(session: Session, order: ActiveOrder, conn: Connection) -> Session:
            notes = self._records.notes_for_session(conn, session)
            return s.record_controlled_substance(session, record, self._settings, order,
                                                 note_signed=bool(notes) and notes[-1].record.is_signed)

        return self._change_reading(session_id, change)

    def controlled_substance_reconciliation(self, day: date) -> DayReconciliation:
        """A clinic day's controlled-substance totals per product and lot, and every discrepancy."""
        with self._runtime.engine.connect() as conn:
            sessions = [loaded.record for loaded in self._records.all_sessions(conn)]
        return reconcile_day(sessions, day, self._clinic_zone)
