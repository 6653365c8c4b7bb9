"""Worked clinical examples shared by the intake tests: a complete intake that is eligible under the default
settings, from which each test changes one thing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.intake.domain.conditions import ConditionRecord
from services.intake.domain.consent import DEFAULT_CONSENT_ELEMENTS, ConsentDecision, ConsentRecord, ConsentSigner
from services.intake.domain.contraindications import ContraindicationAnswer, Presence
from services.intake.domain.medications import MedicationEntry
from services.intake.domain.model import Intake
from services.intake.domain.recording import (
    record_conditions,
    record_consent,
    record_contraindications,
    record_cssrs,
    record_madrs,
    record_medications,
    record_phq9,
    record_trials,
    record_vitals,
    start_intake,
)
from services.intake.domain.settings import IntakeSettings
from services.intake.domain.trials import AntidepressantTrial
from services.intake.domain.vitals import BaselineVitals, BloodPressure, VitalReading
from shared.fhir.codes import MAJOR_DEPRESSIVE_DISORDER
from shared.people import Person

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
DECIDED_AT = T0 + timedelta(hours=2)
INTAKE_ID = "intake-0001"
ADA = Person("Practitioner/dr-ada-lovelace", "Dr Ada Lovelace")  # the clinicians who record and decide
HOPPER = Person("Practitioner/dr-grace-hopper", "Dr Grace Hopper")
PATIENT_ID = "pat-123"

SERTRALINE_FAILED = AntidepressantTrial("sertraline", "150 mg daily", 8, True, 20, True)
VENLAFAXINE_FAILED = AntidepressantTrial("venlafaxine XR", "225 mg daily", 10, True, 30, True)
MDD_ACTIVE = ConditionRecord((MAJOR_DEPRESSIVE_DISORDER,), None, "active", "confirmed", ehr_condition_id="cond-1")
CONSENT_GIVEN = ConsentRecord(ConsentDecision.GIVEN, ConsentSigner.PATIENT, None, T0, "iv-ketamine-v3", True,
                              DEFAULT_CONSENT_ELEMENTS)
BASELINE_VITALS = BaselineVitals(
    blood_pressure=BloodPressure(128, 82, T0),
    heart_rate_per_min=VitalReading(72, T0),
    spo2_pct=VitalReading(98, T0),
    respiratory_rate_per_min=VitalReading(14, T0),
    weight_kg=VitalReading(82.5, T0),
    height_cm=VitalReading(176, T0),
)
PHQ9_ITEMS = [2, 3, 2, 2, 1, 2, 2, 1, 0]  # total 15, item 9 = 0
MADRS_ITEMS = [4, 4, 3, 3, 2, 3, 3, 4, 3, 1]  # total 30
CSSRS_LOW = {"wish-to-be-dead": True, "suicidal-thoughts": False, "suicidal-behaviour-lifetime": False}


def screen_answers(settings: IntakeSettings, **presence_by_key: Presence) -> list[ContraindicationAnswer]:
    """Every configured item answered absent, except the keys given (underscores for hyphens)."""
    given = {key.replace("_", "-"): presence for key, presence in presence_by_key.items()}
    keys = settings.absolute_contraindications + settings.relative_contraindications
    return [ContraindicationAnswer(key, given.get(key, Presence.ABSENT)) for key in keys]


def eligible_intake(settings: IntakeSettings | None = None, patient_id: str = PATIENT_ID) -> Intake:
    settings = settings or IntakeSettings()
    intake = start_intake(INTAKE_ID, patient_id, T0)
    intake = record_conditions(intake, [MDD_ACTIVE])
    intake = record_medications(intake, [MedicationEntry("Sertraline 50 MG Oral Tablet", "completed")])
    intake = record_trials(intake, [SERTRALINE_FAILED, VENLAFAXINE_FAILED])
    intake = record_contraindications(intake, screen_answers(settings), T0, ADA, settings)
    intake = record_vitals(intake, BASELINE_VITALS, settings)
    intake = record_phq9(intake, PHQ9_ITEMS, T0)
    intake = record_madrs(intake, MADRS_ITEMS, T0, ADA)
    intake = record_cssrs(intake, CSSRS_LOW, T0, settings)
    return record_consent(intake, CONSENT_GIVEN)
