"""An intake's start (from an EHR referral or by a clinician) and its reopening after a decision."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from services.intake.domain.checks import require_aware, require_text, require_person
from services.intake.domain.errors import IntakeInputError, IntakeStateError
from services.intake.domain.model import Intake, IntakeStatus, Reopening
from services.intake.domain.patient import Referral
from services.intake.domain.settings import IntakeSettings
from shared.people import Person


def start_intake(
    intake_id: str, patient_id: str, started_at: datetime, referral: Referral | None = None,
    started_by: Person | None = None, settings: IntakeSettings | None = None,
) -> Intake:
    """A new in-progress intake, from an EHR referral or started by a clinician (``referral`` optional). The
    referral's time must be plausible: not after the start (+ clock skew), not older than ``referral_max_age_days``."""
    settings = settings or IntakeSettings()
    intake_id = require_text(intake_id, "intake_id")
    patient_id = require_text(patient_id, "patient_id")
    require_aware(started_at, "started_at")
    started_by = require_person(started_by, "started_by") if started_by is not None else None
    if referral is not None:
        require_aware(referral.requested_at, "referral.requested_at")
        if referral.patient_id != patient_id:
            raise IntakeInputError("referral.patient_id", "the referral is for a different patient")
        if referral.requested_at > started_at + timedelta(minutes=settings.clock_skew_minutes):
            raise IntakeInputError("referral.requested_at", f"{referral.requested_at.isoformat()} is in the future")
        if (started_at - referral.requested_at).days > settings.referral_max_age_days:
            raise IntakeInputError("referral.requested_at", f"{referral.requested_at.isoformat()} is more than "
                                   f"{settings.referral_max_age_days:g} days before the intake")
    return Intake(intake_id=intake_id, patient_id=patient_id, started_at=started_at, started_by=started_by,
                  referral=referral)


def reopen_intake(intake: Intake, reopened_by: Person, reopened_at: datetime, reason: str) -> Intake:
    """Back to in-progress so parts can change; the set-aside decision is kept with who reopened it and when."""
    if intake.status is not IntakeStatus.DECIDED or intake.decision is None:
        raise IntakeStateError("only a decided intake can be reopened")
    reopening = Reopening(
        require_person(reopened_by, "reopened_by"),
        require_aware(reopened_at, "reopened_at"),
        require_text(reason, "reason"),
        intake.decision,
    )
    return dataclasses.replace(
        intake, status=IntakeStatus.IN_PROGRESS, decision=None, reopenings=intake.reopenings + (reopening,)
    )
