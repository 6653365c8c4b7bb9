"""The pages' blueprint and what every page shares: the launch's patient only (``own_intake``), who is recording,
and what the layout shows (banner, clinician, the error summary with each field in words)."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint

from services.intake.access import intake_service
from services.intake.domain.contraindications import contraindication_label
from services.intake.domain.settings import IntakeSettings
from services.intake.handlers import IntakeService, IntakeView
from services.intake.presenters import PART_TITLES, contraindication_keys, cssrs_rows, latest_eligibility
from services.intake.repository import IntakeNotFound
from services.intake.ui.forms import VITAL_MEASURES
from shared.people import Person
from shared.roles import acting_person
from shared.clinic_time import current_clinic_zone, format_clinic_time
from shared.smart import SmartAuthError, SmartContext
from shared.ui import check_same_patient, clinician_name, guard_form_posts, patient_banner

_SERVICE_DIR = Path(__file__).resolve().parent.parent  # services/intake: its templates/ and static/
blueprint = Blueprint("intake_ui", __name__, template_folder=str(_SERVICE_DIR / "templates"),
                      static_folder=str(_SERVICE_DIR / "static"), static_url_path="/ui/intake-static")
guard_form_posts(blueprint)

NOT_SAVED = "Not saved: please correct the following"
ERROR_HEADINGS = {400: NOT_SAVED, 409: "Not saved"}  # 409: the intake's state refused it, not a field


@blueprint.app_template_filter("when")
def when(moment: datetime | None) -> str:
    """A time as every page and the note write it: 24-hour clinic time with its zone (``shared/clinic_time.py``,
    KETALINK_CLINIC_TIMEZONE), not UTC."""
    return format_clinic_time(moment, current_clinic_zone(), missing="")


def own_intake(service: IntakeService, intake_id: str) -> IntakeView:
    """The intake, if it is the launch's patient's: a page never shows another patient's record."""
    try:
        view = service.get(intake_id)
    except IntakeNotFound:
        raise SmartAuthError(404, "There is no such intake.", title="Not found", page="not-found") from None
    check_same_patient(view.intake.patient_id, "intake")
    return view


def recorded_by(context: SmartContext) -> Person:
    """Who is recording, as the parts' ``*_by`` fields keep it: the launch's fhirUser, by reference with the EHR's
    name for it (``shared.roles.acting_person``)."""
    return acting_person(context, ehr=intake_service().fhir)


def page_basics(service: IntakeService, context: SmartContext, errors: list[tuple[str, str]], status: int
                ) -> dict[str, Any]:
    """What every intake page gives the layout: banner, clinician, and the error summary with each field in words."""
    patient_id = context.patient
    eligibility = latest_eligibility(service.for_patient(patient_id)) if patient_id else None
    return {
        "banner": patient_banner(context, patient_id, eligibility=eligibility) if patient_id else None,
        "clinician": clinician_name(context) or context.fhir_user or "unknown clinician",
        "part_titles": PART_TITLES,
        "errors": errors,
        "field_labels": {field: field_label(field, service.settings) for field, _message in errors if field},
        "error_heading": ERROR_HEADINGS.get(status),
        "field_errors": {field: message for field, message in errors if field},
    }


def field_label(field: str, settings: IntakeSettings) -> str:
    """A field path in words, for the error summary ("PHQ-9 item 9", "Trial 2: improvement")."""
    if not field:
        return ""
    if match := re.match(r"^(phq9|madrs)\.items\[(\d+)\]$", field):
        return f"{PART_TITLES[match.group(1)]} item {int(match.group(2)) + 1}"
    if match := re.match(r"^trials\[(\d+)\]\.(\w+)$", field):
        words = {"drug_name": "drug", "dose_text": "dose", "duration_weeks": "weeks", "adequate_dose": "adequate dose",
                 "improvement_pct": "improvement %", "current_episode": "current episode"}
        return f"Trial {int(match.group(1)) + 1}: {words.get(match.group(2), match.group(2))}"
    if match := re.match(r"^contraindications\.answers\[(\d+)\]", field):
        keys = contraindication_keys(settings)
        row = int(match.group(1))
        return contraindication_label(keys[row]) if row < len(keys) else "Contraindication screen"
    if match := re.match(r"^vitals\.(\w+)(?:\.(\w+))?$", field):
        measure, part = match.groups()
        if measure == "blood_pressure":
            return "Systolic blood pressure" if part == "systolic_mmhg" else "Diastolic blood pressure"
        return next((label for name, label, _unit in VITAL_MEASURES if name == measure), "Baseline vital signs")
    if field.startswith("cssrs."):
        item = field.split(".", 1)[1]
        row = next((r for r in cssrs_rows() if r["key"] == item), None)
        return f"C-SSRS item {row['number']}" if row else "C-SSRS screener"
    if field.startswith("consent.elements"):
        return "Consent: elements explained and acknowledged"
    if field.startswith("cssrs_review"):
        return "C-SSRS review: " + ("note" if field.endswith("note") else "outcome")
    if field.startswith("urgent_use"):
        return "Urgent use: reason"
    if field.startswith("consent."):
        words = {"decision": "decision", "signed_by": "signed by", "signer_name": "signer's name",
                 "consent_text_version": "consent text version", "ride_home_agreed": "ride home"}
        return f"Consent: {words.get(field.split('.', 1)[1], field.split('.', 1)[1])}"
    if field.startswith("override."):
        parts = field.split(".")
        return f"Override: {contraindication_label(parts[2])}" if len(parts) > 3 else "Override"
    if field.startswith("reopen."):
        return "Reason for reopening"
    return field

