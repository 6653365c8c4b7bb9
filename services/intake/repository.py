"""Intake records and the EHR deliveries of their messages, stored as versioned JSON documents in the shared
``RecordStore`` (every write names the version it read, so two clinicians' changes never overwrite each other).

A delivery is one message sent to the EHR (its id, event and the EHR's answer on ``ehr.responses``), kept in the
shared ``ehr_deliveries`` table (``shared/ehr_delivery``) so a clinician can see whether the decision reached the
chart.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from services.intake.domain.model import Intake
from shared.db import RecordStore, StoredRecord
from shared import ehr_delivery
from shared.ehr_delivery import Delivery, EhrStatusSettings, RecordEhrStatus
from shared.fhir.messaging import Message

INTAKE_KIND = "intake"
DELIVERY_KIND = "intake"  # the record kind of the intake's messages in ehr_deliveries


class IntakeNotFound(LookupError):
    def __init__(self, intake_id: str):
        self.intake_id = intake_id
        super().__init__(f"intake {intake_id} not found")


@dataclass(frozen=True)
class StoredIntake:
    intake: Intake
    record: StoredRecord

    @property
    def version(self) -> int:
        return self.record.version


class IntakeRepository:
    def __init__(self, store: RecordStore | None = None):
        self._store = store or RecordStore()

    def get(self, conn: Connection, intake_id: str) -> StoredIntake:
        stored = self.find(conn, intake_id)
        if stored is None:
            raise IntakeNotFound(intake_id)
        return stored

    def find(self, conn: Connection, intake_id: str) -> StoredIntake | None:
        record = self._store.find(conn, INTAKE_KIND, intake_id)
        return _loaded(record) if record else None

    def for_patient(self, conn: Connection, patient_id: str) -> list[StoredIntake]:
        return [_loaded(r) for r in self._store.list_for_patient(conn, INTAKE_KIND, patient_id)]

    def add(self, conn: Connection, intake: Intake) -> StoredIntake:
        """StaleRecordError when an intake with this id exists already. The stored intake is ``intake`` itself: the
        record codec round-trips (tests/unit/intake/test_model.py), so decoding what was just encoded is not done."""
        return StoredIntake(intake, self._store.insert(conn, INTAKE_KIND, intake.intake_id, intake.patient_id,
                                                       intake.to_dict()))

    def save(self, conn: Connection, current: StoredIntake, intake: Intake) -> StoredIntake:
        """StaleRecordError when the record changed since ``current`` was read."""
        return StoredIntake(intake, self._store.update(conn, current.record, intake.to_dict()))

    # --- deliveries to the EHR ----------------------------------------------------------------------------
    def add_delivery(self, conn: Connection, message_id: str, event_code: str, intake: Intake) -> None:
        ehr_delivery.track(conn, message_id, event_code, DELIVERY_KIND, intake.intake_id, intake.patient_id)

    def record_ehr_response(self, conn: Connection, message: Message) -> Delivery | None:
        """Store the EHR's answer to one of our messages; None when the message is not one of ours."""
        return ehr_delivery.record_response(conn, message)

    def ehr_status(self, conn: Connection, intake: Intake) -> RecordEhrStatus:
        return ehr_delivery.statuses_of(conn, DELIVERY_KIND, [intake.intake_id])[intake.intake_id]

    def ehr_statuses(self, conn: Connection, intake_ids: list[str]) -> dict[str, RecordEhrStatus]:
        return ehr_delivery.statuses_of(conn, DELIVERY_KIND, intake_ids)

    def not_in_ehr(self, conn: Connection, settings: EhrStatusSettings, now: datetime) -> list[Delivery]:
        return ehr_delivery.outstanding(conn, settings, now)

def _loaded(record: StoredRecord) -> StoredIntake:
    return StoredIntake(Intake.from_dict(record.body), record)
