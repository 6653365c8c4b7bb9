"""Intake domain: pure records and rules for ketamine eligibility (no Flask, Kafka, SQL or HTTP here).

Public API: ``settings.IntakeSettings``, ``model.Intake``, the ``recording.record_*`` functions and
``eligibility.decide_eligibility``; re-exported here for the glue.
"""
from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.errors import IntakeInputError, IntakeStateError
from services.intake.domain.model import Intake, IntakeStatus
from services.intake.domain.recording import (
    record_conditions,
    record_consent,
    record_contraindications,
    record_cssrs,
    record_madrs,
    record_medications,
    record_override,
    record_patient,
    record_phq9,
    record_trials,
    record_vitals,
    reopen_intake,
    start_intake,
)
from services.intake.domain.settings import IntakeSettings

__all__ = [
    "Intake", "IntakeInputError", "IntakeSettings", "IntakeStateError", "IntakeStatus", "decide_eligibility",
    "record_conditions", "record_consent", "record_contraindications", "record_cssrs", "record_madrs",
    "record_medications", "record_override", "record_patient", "record_phq9", "record_trials", "record_vitals",
    "reopen_intake", "start_intake",
]
