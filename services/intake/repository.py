"""Intake records and the EHR deliveries of their messages, stored as versioned JSON documents in the shared
``RecordStore`` (every write names the version it read, so two clinicians' changes never overwrite each other).

A delivery is one message sent to the EHR (its id, event and the EHR's answer on ``ehr.responses``), kept so a
clinician can see whether the decision reached the chart.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from services.intake.domain.model import Intake
from shared.db import RecordStore, StoredRecord, utcnow
from shared.fhir.datatypes import instant

INTAKE_KIND = "intake"
DELIVERY_KIND = "intake-ehr-delivery"


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
        """StaleRecordError when an intake with this id exists already."""
        return _loaded(self._store.insert(conn, INTAKE_KIND, intake.intake_id, intake.patient_id, intake.to_dict()))

    def save(self, conn: Connection, current: StoredIntake, intake: Intake) -> StoredIntake:
        """StaleRecordError when the record changed since ``current`` was read."""
        return _loaded(self._store.update(conn, current.record, intake.to_dict()))

    # --- deliveries to the EHR ----------------------------------------------------------------------------
    def add_delivery(self, conn: Connection, message_id: str, event_code: str, intake: Intake) -> None:
        self._store.insert(conn, DELIVERY_KIND, message_id, intake.patient_id, {
            "message_id": message_id, "event_code": event_code, "intake_id": intake.intake_id,
            "queued_at": instant(utcnow()), "ehr_response": None})

    def record_ehr_response(self, conn: Connection, message_id: str, code: str, issues: list[str]) -> bool:
        """Store the EHR's answer to one of our messages; False when the message is not one of ours."""
        record = self._store.find(conn, DELIVERY_KIND, message_id)
        if record is None:
            return False
        body = {**record.body, "ehr_response": {"code": code, "issues": issues, "received_at": instant(utcnow())}}
        self._store.update(conn, record, body)
        return True

    def deliveries(self, conn: Connection, intake: Intake) -> list[dict[str, Any]]:
        return [r.body for r in self._store.list_for_patient(conn, DELIVERY_KIND, intake.patient_id)
                if r.body.get("intake_id") == intake.intake_id]


def _loaded(record: StoredRecord) -> StoredIntake:
    return StoredIntake(Intake.from_dict(record.body), record)
