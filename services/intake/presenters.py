"""The JSON the API answers with: the stored intake, plus what is derived for the screen (what is still missing,
the prior-trial candidates from the EHR medication history) and the EHR's answers to its messages."""
from __future__ import annotations

from typing import Any

from services.intake.domain.model import Intake
from services.intake.domain.settings import IntakeSettings
from services.intake.domain.consent import consent_element_label
from services.intake.domain.progress import missing_items
from services.intake.domain.trials import prior_trial_candidates
from services.intake.handlers import IntakeView
from shared.records import to_json


def intake_json(view: IntakeView, settings: IntakeSettings) -> dict[str, Any]:
    intake = view.intake
    candidates = prior_trial_candidates(intake.medications or (), settings.antidepressant_terms,
                                        intake.started_at.date())
    return {
        **intake.to_dict(),
        "version": view.version,
        "missing": to_json(missing_items(intake, settings)),
        "trial_candidates": to_json(candidates),
        "consent_elements": [{"key": key, "label": consent_element_label(key)} for key in settings.consent_elements],
        "ehr_messages": [_delivery(d) for d in view.deliveries],
    }


def intake_summary_json(intake: Intake) -> dict[str, Any]:
    """One line of a patient's intake list."""
    return {
        "intake_id": intake.intake_id,
        "patient_id": intake.patient_id,
        "status": intake.status.value,
        "started_at": intake.started_at.isoformat(),
        "referral_id": intake.referral.ehr_service_request_id if intake.referral else None,
        "outcome": intake.decision.outcome.value if intake.decision else None,
        "decided_at": intake.decision.decided_at.isoformat() if intake.decision else None,
    }


def _delivery(delivery: dict[str, Any]) -> dict[str, Any]:
    response = delivery.get("ehr_response") or {}
    return {
        "message_id": delivery["message_id"],
        "event_code": delivery["event_code"],
        "queued_at": delivery["queued_at"],
        "ehr_response": response.get("code", "pending"),
        "ehr_issues": response.get("issues", []),
    }
