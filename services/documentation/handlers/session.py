"""The session's steps: check-in, the pre-infusion check and its suicide-risk review, the start and end of the
infusion, discharge and its follow-up call, deferral and abort."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Connection

from services.documentation import commands as c
from services.documentation.domain import session as s
from services.documentation.domain.discharge import AldreteScore, DischargeAssessment
from services.documentation.domain.errors import DocumentationInputError, input_field
from services.documentation.domain.order import ActiveOrder
from services.documentation.domain.pre_check import PreCheckConfirmations
from services.documentation.domain.pregnancy import PregnancyApplicability, pregnancy_applicability, record_unreadable
from services.documentation.domain.session import Session
from services.documentation.domain.site_readiness import site_readiness
from services.documentation.domain.spacing import previous_infusion
from services.documentation.domain.suicide_risk import CssrsScreen, SuicideRiskReview, field_name, screen_cssrs
from services.documentation.domain.vitals import VitalsReading
from services.documentation.handlers.core import ServiceCore, SessionState, new_id, require_unused_reading_id
from shared.fhir.client import FhirError
from shared.record_writes import without_needless_conflicts
from shared.scales import CssrsItem

log = logging.getLogger(__name__)


class SessionSteps(ServiceCore):
    def check_in(self, session_id: str, command: c.CheckIn) -> SessionState:
        """Checked against the session's window and the previous infusion of its series, in the transaction that
        records it, so two check-ins at once cannot both pass the interval rule unseen. Infusions of the patient's
        other series are not counted here (a series follows a completed or cancelled one, and starts no earlier
        than the day it is signed): see the hazard log, HZ-06."""
        at = self._clock.resolve(command.at)

        def change(current: Session, current_order: ActiveOrder, conn: Connection) -> Session:
            previous_at = previous_infusion(
                (other.record.infusion_started_at for other in self._records.sessions_for_patient(
                    conn, current.patient_id)
                 if other.record.session_id != session_id and other.record.series_id == current.series_id),
                at)
            return s.check_in(current, current_order, command.actor, at, self._settings,
                              previous_infusion_at=previous_at, override_reason=command.override_reason or "",
                              override_by=command.actor, chair=command.chair or "")

        return self._change_reading(session_id, change)

    def pre_check(self, session_id: str, command: c.PreCheck) -> SessionState:
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
                                    recorded_by=command.actor, **values)
        confirmations = PreCheckConfirmations(**command.confirmations.model_dump())
        pregnancy = self.pregnancy_for(session.patient_id, at)
        readiness = (site_readiness(command.site_readiness, self._settings, command.actor, at)
                     if command.site_readiness is not None else None)

        def change(current: Session, current_order: ActiveOrder) -> Session:
            require_unused_reading_id(current, reading.reading_id, "reading.reading_id")
            cssrs = self._day_cssrs(current, command, at)
            return s.record_pre_check(current, current_order, reading, confirmations, latest_weight_kg,
                                      self._settings, command.actor, at, order_weight_kg=order_weight_kg,
                                      cssrs=cssrs, site_readiness=readiness, pregnancy=pregnancy)

        return self._change(session_id, change)

    def pregnancy_today(self, session_id: str) -> PregnancyApplicability:
        """For the pre-check page: whether "not applicable" may be offered for the pregnancy check now (from the EHR
        record of the session's patient)."""
        with self._runtime.engine.connect() as conn:
            session = self._records.session(conn, session_id).record
        return self.pregnancy_for(session.patient_id, self._clock.now())

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

    def _day_cssrs(self, session: Session, command: c.PreCheck, at: datetime) -> CssrsScreen | None:
        """The screener sent with this check; required on the day's first check while the clinic requires it."""
        if command.cssrs is None:
            if self._settings.pre_check_cssrs_required and session.latest_cssrs is None:
                raise DocumentationInputError("cssrs", "the day's C-SSRS screener is required with the first "
                                                       "pre-infusion check")
            return None
        answers = {item.value: getattr(command.cssrs, field_name(item)) for item in CssrsItem}
        screening_id = f"{session.session_id}-cssrs-{len(session.cssrs_screens) + 1}"
        return screen_cssrs(screening_id, answers, self._settings, command.actor, at)

    def review_suicide_risk(self, session_id: str, command: c.SuicideRiskReview) -> SessionState:
        """The clinician's documented review (who = the signed-in clinician, ``by``), against the alerts open now."""
        at = self._clock.resolve(command.at)
        review = SuicideRiskReview(reviewed_by=command.actor, reviewed_at=at, decision=command.decision,
                                   note=command.note.strip())

        def change(session: Session, _order: ActiveOrder, conn: Connection) -> Session:
            alerts = self._records.open_suicidality_alerts(conn, session.patient_id)
            return s.review_suicide_risk(session, alerts, review, self._settings)

        return self._change_reading(session_id, change)

    def override_hold(self, session_id: str, command: c.HoldOverride) -> SessionState:
        at = self._clock.resolve(command.at)
        return self._change(session_id, lambda session, _order: s.override_pre_check_hold(
            session, command.reason, command.actor, at))

    def start_infusion(self, session_id: str, command: c.StartInfusion) -> SessionState:
        """Refused while the day's suicide-risk check is not done (C-SSRS, reviews of high risk and open alerts), and
        while another session of the patient is infusing or recovering. Every session of the patient is locked
        before any is read (``lock_patient_sessions``), so of two starts at once the second waits for the first to
        commit and then sees it: one infusion at a time holds under concurrency, not only one request at a time."""
        at = self._clock.resolve(command.at)
        with self._runtime.engine.connect() as conn:
            patient_id = self._records.session(conn, session_id).record.patient_id  # never changes

        def step(_locked: bool) -> tuple[Session, ActiveOrder]:
            with self._runtime.transaction() as conn:
                self._records.lock_patient_sessions(conn, patient_id)  # this session's row among them
                loaded = self._records.session(conn, session_id)
                order = self._records.order(conn, loaded.record.order_id).record
                others = tuple(other.record for other in self._records.sessions_for_patient(conn, patient_id)
                               if other.record.session_id != session_id)
                alerts = self._records.open_suicidality_alerts(conn, patient_id)
                return self._apply(conn, loaded, order, lambda current, current_order: s.start_infusion(
                    current, current_order, command.actor, at, self._settings, alerts, others=others)), order

        session, order = without_needless_conflicts(step, f"session {session_id}")
        return self._state(session, order)

    def end_infusion(self, session_id: str, command: c.EndInfusion) -> SessionState:
        at = self._clock.resolve(command.at)
        return self._change(session_id, lambda session, _order: s.end_infusion(session, command.actor, at))

    def discharge(self, session_id: str, command: c.Discharge) -> SessionState:
        at = self._clock.resolve(command.at)
        aldrete = AldreteScore(**command.aldrete.model_dump()) if command.aldrete else None
        given = self._settings.discharge_instructions if command.instructions_acknowledged else ()
        assessment = DischargeAssessment(mental_status_at_baseline=command.mental_status_at_baseline,
                                         escort_present=command.escort_present, assessed_by=command.actor,
                                         assessed_at=at, aldrete=aldrete, escort_name=command.escort_name.strip(),
                                         escort_relationship=command.escort_relationship.strip(),
                                         instructions_given=given,
                                         instructions_acknowledged=command.instructions_acknowledged,
                                         safety_plan_confirmed=command.safety_plan_confirmed)
        return self._change(session_id, lambda session, _order: s.discharge(
            session, assessment, self._settings, command.actor, at, command.override_reason))

    def complete_follow_up_call(self, session_id: str, command: c.CompleteFollowUpCall) -> SessionState:
        at = self._clock.resolve(command.at)
        return self._change(session_id, lambda session, _order: s.complete_follow_up_call(
            session, command.outcome, command.note, command.actor, at))

    def defer(self, session_id: str, command: c.Defer) -> SessionState:
        at = self._clock.resolve(command.at)
        return self._change(session_id, lambda session, _order: s.defer(session, command.reason, command.actor, at))

    def abort(self, session_id: str, command: c.Abort) -> SessionState:
        at = self._clock.resolve(command.at)
        return self._change(session_id, lambda session, _order: s.abort(session, command.reason, command.actor, at))
