"""Record each part of an intake: validate all of the input first, then return a new ``Intake`` (never half-applied).

Every function refuses a decided intake (IntakeStateError) and raises IntakeInputError naming the bad field.
Times and numbers are checked for plausibility (domain/plausibility.py): ``now`` (the server's clock, given by the
service layer) bounds every time from above; the intake's start bounds it from below.
"""
from services.intake.domain.recording.consent import record_consent
from services.intake.domain.recording.contraindications import record_contraindications, record_override
from services.intake.domain.recording.ehr_record import record_conditions, record_medications, record_patient
from services.intake.domain.recording.lifecycle import reopen_intake, start_intake
from services.intake.domain.recording.scales import (
    checked_cssrs,
    record_cssrs,
    record_cssrs_review,
    record_madrs,
    record_phq9,
)
from services.intake.domain.recording.trd import record_trials, record_urgent_use
from services.intake.domain.recording.vitals import record_vitals

__all__ = [
    "checked_cssrs", "record_conditions", "record_consent", "record_contraindications", "record_cssrs",
    "record_cssrs_review", "record_madrs", "record_medications", "record_override", "record_patient", "record_phq9",
    "record_trials", "record_urgent_use", "record_vitals", "reopen_intake", "start_intake",
]
