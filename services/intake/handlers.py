"""The intake's service layer: a command in (``commands.py``), the intake as stored out (``IntakeView``), used alike by
the HTTP API and the clinician pages; ``on_<event>`` handlers for the Kafka consumer.

Each command reads what it needs (the EHR first, outside any SQL transaction when it can), lets the domain check
and apply the change, then writes the record (and the outbound message, via the outbox) in one transaction, so a
refused change writes nothing. Errors stay domain errors here (IntakeInputError, IntakeStateError, IntakeNotFound,
the EHR read errors); each entry point turns them into its own answer (an HTTP status, retry or dead-letter).
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.engine import Connection

from services.intake.commands import (
    DecideEligibility,
    RecordConsent,
    RecordContraindications,
    RecordCssrs,
    RecordCssrsReview,
    RecordMadrs,
    RecordOverride,
    RecordPhq9,
    RecordTrials,
    RecordUrgentUse,
    RecordVitals,
    ReopenIntake,
    StartIntake,
)
from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.errors import IntakeInputError
from services.intake.domain.model import Intake
from services.intake.domain.patient import Referral, ReferralSource
from services.intake.domain.recording import (
    record_conditions,
    record_consent,
    record_contraindications,
    record_cssrs,
    record_cssrs_review,
    record_madrs,
    record_medications,
    record_override,
    record_patient,
    record_phq9,
    record_trials,
    record_urgent_use,
    record_vitals,
    reopen_intake,
    start_intake,
)
from services.intake.domain.reviews import BehaviouralHealthReview, UrgentUseOverride
from services.intake.domain.settings import IntakeSettings
from services.intake.domain.vitals import BaselineVitals
from services.intake.ehr_reads import EhrDataError, EhrError, EhrNotFound, EhrPatientRecord, EhrReader, EhrUnavailable
from services.intake.messages import decision_message, reopened_message
from services.intake.repository import IntakeRepository, StoredIntake
from services.intake.translators.service_request_in import referral_from_fhir
from shared.fhir.client import FhirClient
from shared.clock import ClinicalClock
from shared.db import StaleRecordError, utcnow
from shared.ehr_delivery import Delivery, EhrStatus, EhrStatusSettings, RecordEhrStatus
from shared.errors import FieldInputError
from shared.events.consumer import PermanentError, TransientError
from shared.events.event_codes import INTAKE_ELIGIBILITY_DECIDED, INTAKE_REOPENED, REFERRAL_REQUESTED
from shared.events.topics import INTAKE_EVENTS
from shared.fhir.datatypes import FhirJson
from shared.fhir.messaging import Message
from shared.fhir.validate import FhirValidationError
from shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)

# Referral intake ids are uuid5(this, "system|value" of the ServiceRequest's first identifier): the same referral
# always maps to the same intake, whether it arrives as an event (once or redelivered) or is named in POST /intakes.
REFERRAL_INTAKE_NAMESPACE = uuid.UUID("0b9f5c8e-7a43-4e1d-9d0f-5b6f2f3c8a41")
STARTS_AN_INTAKE = frozenset({"active"})  # ServiceRequest statuses that start one; others (revoked...) do not
SERVICE_KEY = "intake"  # bootstrap installs the IntakeService on the app under this key (shared.web.install_service)


class ReferralError(IntakeInputError):
    """A referral (ServiceRequest) that cannot start an intake; ``field`` is the FHIR path in it."""


@dataclass(frozen=True)
class IntakeView:
    """An intake as the API shows it: the record, its version and its messages to the EHR with their answers."""

    intake: Intake
    version: int
    ehr_status: RecordEhrStatus


class IntakeService:
    """The intake's service layer. ``clock`` is the one clinical clock (``shared.clock``): now, for what is recorded
    without a time of its own; the domain checks every recorded time against it (``domain/plausibility.py``)."""

    def __init__(self, runtime: ServiceRuntime, settings: IntakeSettings, ehr: EhrReader, clock: ClinicalClock,
                 repository: IntakeRepository | None = None):
        self._runtime = runtime
        self._settings = settings
        self._ehr = ehr
        self._clock = clock
        self._repository = repository or IntakeRepository()

    @property
    def settings(self) -> IntakeSettings:
        return self._settings

    @property
    def fhir(self) -> FhirClient:
        """The service's own EHR client (who a backend client acts for is checked with it)."""
        return self._runtime.ehr

    @property
    def clock(self) -> ClinicalClock:
        return self._clock

    def _now(self) -> datetime:
        return self._clock.now()

    # --- start and read -------------------------------------------------------------------------------------
    def start(self, command: StartIntake) -> tuple[IntakeView, bool]:
        """A new intake pre-filled from the EHR; returns (intake, created). Naming a referral returns the intake it
        already started, if any."""
        patient_id, started_by, referral_id = command.patient_id, command.started_by, command.referral_id
        now = self._now()
        if referral_id is not None:
            service_request = self._ehr.service_request(referral_id)
            referral, intake_id = _referral_and_intake_id(service_request)
            if referral.patient_id != patient_id:
                raise ReferralError("ServiceRequest.subject", "the referral is for another patient")
            if referral.ehr_status not in STARTS_AN_INTAKE:
                raise ReferralError("ServiceRequest.status", f"{referral.ehr_status!r}: only an active referral "
                                                             "starts an intake")
            with self._runtime.engine.connect() as conn:
                existing = self._repository.find(conn, intake_id)
                if existing is not None:
                    return self._view(conn, existing), False
        else:
            referral = Referral(patient_id, ReferralSource.CLINICIAN, now, requester_display=started_by.display)
            intake_id = str(uuid.uuid4())
        ehr_record = self._ehr.patient_record(patient_id, now.date())
        intake = self._prefilled(start_intake(intake_id, patient_id, now, referral, started_by, self._settings),
                                 ehr_record, now)
        with self._runtime.transaction() as conn:
            existing = self._repository.find(conn, intake_id)
            if existing is not None:  # the referral event started it while we read the EHR
                return self._view(conn, existing), False
            stored = self._repository.add(conn, intake)
            log.info("intake started", extra={"intake_id": intake_id, "patient_id": patient_id, "source": "api"})
            return self._view(conn, stored), True

    def get(self, intake_id: str) -> IntakeView:
        with self._runtime.engine.connect() as conn:
            return self._view(conn, self._repository.get(conn, intake_id))

    def for_patient(self, patient_id: str) -> list[Intake]:
        with self._runtime.engine.connect() as conn:
            return [stored.intake for stored in self._repository.for_patient(conn, patient_id)]

    # --- record the parts (times are the caller's: when it was measured, answered, signed) --------------------
    def record_trials(self, command: RecordTrials) -> IntakeView:
        return self._change(command.intake_id, lambda intake: record_trials(intake, command.trials, self._settings))

    def record_contraindications(self, command: RecordContraindications) -> IntakeView:
        return self._change(command.intake_id, lambda intake: record_contraindications(
            intake, command.answers, command.screened_at, command.screened_by, self._settings, self._now()))

    def record_vitals(self, command: RecordVitals) -> IntakeView:
        return self._change(command.intake_id, lambda intake: record_vitals(intake, command.vitals, self._settings,
                                                                            self._now()))

    def record_phq9(self, command: RecordPhq9) -> IntakeView:
        return self._change(command.intake_id, lambda intake: record_phq9(
            intake, command.items, command.answered_at, self._settings, self._now()))

    def record_madrs(self, command: RecordMadrs) -> IntakeView:
        return self._change(command.intake_id, lambda intake: record_madrs(
            intake, command.items, command.rated_at, command.rated_by, self._settings, self._now()))

    def record_cssrs(self, command: RecordCssrs) -> IntakeView:
        return self._change(command.intake_id, lambda intake: record_cssrs(
            intake, command.answers, command.answered_at, self._settings, self._now()))

    def record_cssrs_review(self, command: RecordCssrsReview) -> IntakeView:
        """The behavioural-health review of the current C-SSRS screen, by the signed-in clinician, now."""
        def change(intake: Intake) -> Intake:
            screen = intake.cssrs
            review = BehaviouralHealthReview(command.reviewed_by, self._now(),
                                             command.outcome,  # type: ignore[arg-type]
                                             command.note, screen.risk if screen else None,  # type: ignore[arg-type]
                                             screen.answered_at if screen else self._now())
            return record_cssrs_review(intake, review, self._settings, self._now())
        return self._change(command.intake_id, change)

    def record_urgent_use(self, command: RecordUrgentUse) -> IntakeView:
        """A prescriber's urgent-use override of the TRD rule (the caller checked the role when it could)."""
        override = UrgentUseOverride(command.overridden_by, self._now(), command.reason, command.prescriber_checked)
        return self._change(command.intake_id, lambda intake: record_urgent_use(intake, override, self._settings,
                                                                                self._now()))

    def record_consent(self, command: RecordConsent) -> IntakeView:
        return self._change(command.intake_id, lambda intake: record_consent(intake, command.consent, self._settings,
                                                                             self._now()))

    def record_override(self, command: RecordOverride) -> IntakeView:
        return self._change(command.intake_id, lambda intake: record_override(intake, command.override,
                                                                              self._settings))

    # --- decide and reopen ----------------------------------------------------------------------------------
    def decide(self, command: DecideEligibility) -> IntakeView:
        """Decide, and queue ``intake-eligibility-decided`` for orders and the EHR in the same transaction. The
        caller has checked the prescriber's role (shared/roles.py); ``attestation`` is kept with the decision."""

        def decided(intake: Intake) -> Intake:
            result = decide_eligibility(intake, self._settings, self._now(), command.decided_by)
            if command.attestation and result.decision is not None:
                result = replace(result, decision=replace(result.decision, attestation=command.attestation))
            return result

        def publish(conn: Connection, intake: Intake) -> None:
            message = decision_message(intake, self._runtime.source_endpoint)
            message_id = self._runtime.publish(conn, INTAKE_EVENTS, intake.patient_id, message)
            self._repository.add_delivery(conn, message_id, INTAKE_ELIGIBILITY_DECIDED, intake)
            outcome = intake.decision.outcome.value if intake.decision else None
            log.info("eligibility decided", extra={"intake_id": intake.intake_id, "message_id": message_id,
                                                   "outcome": outcome})

        return self._change(command.intake_id, decided, publish)

    def reopen(self, command: ReopenIntake) -> IntakeView:
        """Reopen, and queue ``intake-reopened`` in the same transaction: the decision is withdrawn wherever it is
        used (orders refuses new orders and signatures until a new decision; the EHR's RiskAssessment is cancelled)."""

        def publish(conn: Connection, intake: Intake) -> None:
            message_id = self._runtime.publish(conn, INTAKE_EVENTS, intake.patient_id,
                                               reopened_message(intake, self._runtime.source_endpoint))
            self._repository.add_delivery(conn, message_id, INTAKE_REOPENED, intake)
            log.info("intake reopened", extra={"intake_id": intake.intake_id, "message_id": message_id})

        return self._change(command.intake_id, lambda intake: reopen_intake(
            intake, command.reopened_by, self._now(), command.reason), publish)

    def not_in_ehr(self, settings: EhrStatusSettings) -> list[Delivery]:
        """The intake's messages the EHR has not applied (the clinic's "not in the EHR" list, intake's part)."""
        with self._runtime.transaction() as conn:
            return self._repository.not_in_ehr(conn, settings, utcnow())

    def ehr_statuses(self, intake_ids: list[str]) -> dict[str, RecordEhrStatus]:
        with self._runtime.transaction() as conn:
            return self._repository.ehr_statuses(conn, intake_ids)

    # --- events ---------------------------------------------------------------------------------------------
    def on_referral_requested(self, message: Message, conn: Connection) -> None:
        """An EHR referral for a ketamine evaluation starts an intake once, however often it is announced."""
        service_request = message.first("ServiceRequest")
        if service_request is None:
            raise PermanentError(f"{REFERRAL_REQUESTED}: the message carries no ServiceRequest")
        try:
            # parse_message validated the message Bundle whole, this ServiceRequest included: once is enough
            referral, intake_id = _referral_and_intake_id(service_request, checked_in_message=True)
        except FieldInputError as error:
            raise PermanentError(f"{REFERRAL_REQUESTED}: {error.field}: {error.message}") from None
        if referral.ehr_status not in STARTS_AN_INTAKE:
            log.info("referral not active; no intake", extra={"intake_id": intake_id, "status": referral.ehr_status})
            return
        if self._repository.find(conn, intake_id) is not None:
            return  # started already (an earlier announcement, or POST /intakes naming this referral)
        now = self._now()
        try:
            ehr_record = self._ehr.patient_record(referral.patient_id, now.date(), "ServiceRequest.subject")
            intake = self._prefilled(start_intake(intake_id, referral.patient_id, now, referral,
                                                  settings=self._settings), ehr_record, now)
        except EhrUnavailable as error:
            raise TransientError(str(error)) from None
        except (EhrNotFound, EhrDataError) as error:
            raise PermanentError(f"{REFERRAL_REQUESTED}: {error}") from None
        except EhrError as error:
            raise TransientError(str(error)) from None
        except FieldInputError as error:
            raise PermanentError(f"{REFERRAL_REQUESTED}: {error.field}: {error.message}") from None
        try:
            self._repository.add(conn, intake)
        except StaleRecordError:
            raise TransientError("the intake was started concurrently; the retry finds it") from None
        log.info("intake started", extra={"intake_id": intake_id, "patient_id": referral.patient_id,
                                          "source": "referral", "message_id": message.message_id})

    def on_ehr_response(self, message: Message, conn: Connection) -> None:
        """The EHR's answer to one of our decision messages: kept with the intake (applied, refused with the
        EHR's reasons, or waiting on the EHR's retry), shown on its pages and in the "not in the EHR" list."""
        delivery = self._repository.record_ehr_response(conn, message)
        if delivery is not None:
            log.log(logging.INFO if delivery.status is EhrStatus.APPLIED else logging.WARNING,
                    "EHR answered a decision message", extra={"message_id": message.response_to,
                                                              "intake_id": delivery.record_id,
                                                              "ehr_status": delivery.status.value})

    # --- plumbing -------------------------------------------------------------------------------------------
    def _prefilled(self, intake: Intake, ehr_record: EhrPatientRecord, now: datetime) -> Intake:
        """The new intake with what the EHR knows. A value the domain refuses (a weight outside the plausible
        range, a reading dated in the future or before the patient's birth, an impossible age) is the EHR's data
        problem, and named as such."""
        try:
            intake = record_patient(intake, ehr_record.patient, self._settings)
            intake = record_conditions(intake, ehr_record.conditions)
            intake = record_medications(intake, ehr_record.medications)
            if ehr_record.vitals != BaselineVitals():
                intake = record_vitals(intake, ehr_record.vitals, self._settings, now)
        except FieldInputError as error:
            if error.field.startswith("vitals."):  # e.g. vitals.weight_kg.value: name the EHR Observation
                reading = getattr(ehr_record.vitals, error.field.split(".")[1])
                raise EhrDataError(f"Observation/{reading.ehr_observation_id}", "Observation.valueQuantity.value",
                                   error.message) from None
            raise EhrDataError(f"Patient/{intake.patient_id}", error.field, error.message) from None
        return intake

    def _change(self, intake_id: str, change: Callable[[Intake], Intake],
                after: Callable[[Connection, Intake], None] | None = None) -> IntakeView:
        """Load, apply ``change`` (the domain validates everything first), save, and run ``after`` (e.g. publish),
        all in one transaction: a refused change or a failure leaves the record as it was."""
        with self._runtime.transaction() as conn:
            current = self._repository.get(conn, intake_id)
            changed = change(current.intake)
            stored = self._repository.save(conn, current, changed)
            if after is not None:
                after(conn, changed)
            return self._view(conn, stored)

    def _view(self, conn: Connection, stored: StoredIntake) -> IntakeView:
        return IntakeView(stored.intake, stored.version, self._repository.ehr_status(conn, stored.intake))


def _referral_and_intake_id(service_request: FhirJson, *,
                            checked_in_message: bool = False) -> tuple[Referral, str]:
    """The referral and its deterministic intake id; ReferralError naming the FHIR path when it is malformed.
    ``checked_in_message``: see ``referral_from_fhir``."""
    try:
        referral = referral_from_fhir(service_request, checked_in_message=checked_in_message)
    except FhirValidationError as error:
        raise ReferralError(*error.issues[0]) from None
    except FieldInputError as error:
        raise ReferralError(error.field, error.message) from None
    first = (service_request.get("identifier") or [{}])[0]
    if not first.get("system") or not first.get("value"):
        raise ReferralError("ServiceRequest.identifier",
                            "an identifier (system and value) is required so the referral starts one intake only")
    return referral, str(uuid.uuid5(REFERRAL_INTAKE_NAMESPACE, f"{first['system']}|{first['value']}"))
