"""What the API and the pages show of an intake.

- JSON: the stored intake, plus what is derived for the screen (what is still missing, the prior-trial candidates
  from the EHR medication history) and the EHR's answers to its messages.
- Page view models: the rows and labels the intake and decision pages render (``ui/``), built from the intake and
  the clinic's settings only.
"""
from __future__ import annotations

from typing import Any

from services.intake.domain.consent import consent_element_label
from services.intake.domain.contraindications import ContraindicationClass, Presence, contraindication_label
from services.intake.domain.cssrs import ALWAYS_ASKED, GATED_BY, CssrsItem
from services.intake.domain.decision import ReasonEffect
from services.intake.domain.medications import interacting_drug_flags
from services.intake.domain.model import Intake
from services.intake.domain.overrides import OverrideTarget
from services.intake.domain.pregnancy import childbearing_potential
from services.intake.domain.progress import missing_items
from services.intake.domain.settings import IntakeSettings
from services.intake.domain.trials import prior_trial_candidates
from services.intake.access import INTAKE_RECORD
from services.intake.handlers import IntakeView
from services.intake.repository import DELIVERY_KIND
from services.intake.translators.codes import CSSRS_ITEMS
from shared.ehr_delivery import Delivery, EhrStatus
from shared.ehr_delivery.views import record_status_json
from shared.records import to_json

PART_TITLES = {
    "trials": "Prior antidepressant trials", "contraindications": "Contraindication screen",
    "vitals": "Baseline vital signs", "phq9": "PHQ-9", "madrs": "MADRS", "cssrs": "C-SSRS screener",
    "consent": "Informed consent", "cssrs_review": "C-SSRS behavioural-health review",
    "urgent_use": "Urgent use (TRD rule set aside)", "overrides": "Overrides", "decision": "Decision",
    "reopen": "Reopen",
    "conditions": "Problem list", "medications": "Medication list",
}
EFFECT_LABELS = {ReasonEffect.INFO: "Information", ReasonEffect.REVIEW: "Needs review",
                 ReasonEffect.BLOCK: "Not eligible"}
NOT_DECIDED = "not-decided"


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
        "ehr_messages": [_delivery(d) for d in view.ehr_status.deliveries],
        "ehr_status": record_status_json(view.ehr_status),
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


RESPONSE_CODES = {EhrStatus.SENT: "pending", EhrStatus.APPLIED: "ok", EhrStatus.REFUSED: "fatal-error",
                  EhrStatus.RETRYING: "transient-error"}


def _delivery(delivery: Delivery) -> dict[str, Any]:
    """One message as ``ehr_messages`` has listed them (``ehr_response``: the EHR's response code, or pending)."""
    return {
        "message_id": delivery.message_id,
        "event_code": delivery.event_code,
        "queued_at": delivery.queued_at.isoformat(),
        "ehr_response": RESPONSE_CODES[delivery.status],
        "ehr_issues": list(delivery.reasons),
    }


NOT_IN_EHR_TYPES = {DELIVERY_KIND: INTAKE_RECORD}  # the FHIR type an intake is read as


def ehr_record_link(delivery: Delivery) -> str:
    """The page of a "not in the EHR" row's intake."""
    return f"/ui/intakes/{delivery.record_id}"


def ehr_status_view(view: IntakeView) -> dict[str, Any] | None:
    """The page's EHR status of the intake (a refused decision is an alert); None before anything was sent."""
    return record_status_json(view.ehr_status) if view.ehr_status.status is not None else None


# --- page view models ------------------------------------------------------------------------------------------
def latest_eligibility(intakes: list[Intake]) -> str:
    """The outcome of the patient's latest decision, for the banner."""
    decided = [i.decision for i in intakes if i.decision is not None]
    return max(decided, key=lambda d: d.decided_at).outcome.value if decided else NOT_DECIDED


def contraindication_keys(settings: IntakeSettings) -> tuple[str, ...]:
    """The screen's items in the clinic's order (absolute first): one row each on the page."""
    return settings.absolute_contraindications + settings.relative_contraindications


def contraindication_rows(settings: IntakeSettings, intake: Intake) -> list[dict[str, Any]]:
    """One row per configured item; "not applicable" is offered only where the EHR record shows the item cannot
    apply (pregnancy for a patient without child-bearing potential, domain/pregnancy.py)."""
    not_applicable = not childbearing_potential(intake.patient, settings)
    return [{"row": row, "key": key, "label": contraindication_label(key),
             "absolute": settings.contraindication_class(key) is ContraindicationClass.ABSOLUTE,
             "not_applicable": not_applicable and key in settings.sex_and_age_dependent_contraindications}
            for row, key in enumerate(contraindication_keys(settings))]


def cssrs_rows() -> list[dict[str, Any]]:
    rows = []
    for number, item in enumerate(CssrsItem, start=1):
        gate = GATED_BY.get(item)
        label = "6b" if item is CssrsItem.SUICIDAL_BEHAVIOUR_PAST_3_MONTHS else str(number)
        gate_number = {CssrsItem.SUICIDAL_THOUGHTS: "2", CssrsItem.SUICIDAL_BEHAVIOUR_LIFETIME: "6"}.get(gate)
        rows.append({"key": item.value, "number": label, "question": CSSRS_ITEMS[item].display,
                     "required": item in ALWAYS_ASKED,
                     "hint": f"Ask only if {gate_number} is yes" if gate_number else None})
    return rows


def override_items(intake: Intake, settings: IntakeSettings) -> list[dict[str, Any]]:
    """Relative contraindications answered present/unknown and flagged current drugs: what an override can clear."""
    items = []
    screen = intake.contraindications
    for key in settings.relative_contraindications:
        answer = screen.answer_for(key) if screen else None
        if answer is not None and answer.presence not in (Presence.ABSENT, Presence.NOT_APPLICABLE):
            items.append({"target": OverrideTarget.CONTRAINDICATION.value, "key": key,
                          "label": contraindication_label(key), "state": answer.presence.value})
    seen: set[str] = set()
    for flag in interacting_drug_flags(intake.medications or (), settings.interacting_drug_class_terms,
                                       settings.interacting_drug_class_codes):
        if flag.drug_class in seen or flag.drug_class in settings.blocking_interacting_drug_classes:
            continue
        seen.add(flag.drug_class)
        items.append({"target": OverrideTarget.INTERACTING_DRUG_CLASS.value, "key": flag.drug_class,
                      "label": f"Interacting drug ({flag.drug_class}): {flag.drug_name}", "state": "current"})
    for item in items:
        item["override"] = next((o for o in intake.overrides
                                 if o.target.value == item["target"] and o.key == item["key"]), None)
    return items


def plausible_ranges(settings: IntakeSettings) -> dict[str, tuple[float, float]]:
    """Each vital's plausible range, for the inputs' min/max (the browser hints before the domain refuses)."""
    return {
        "systolic_mmhg": settings.plausible_range("systolic_plausible_range_mmhg"),
        "diastolic_mmhg": settings.plausible_range("diastolic_plausible_range_mmhg"),
        "heart_rate_per_min": settings.plausible_range("heart_rate_plausible_range_per_min"),
        "spo2_pct": settings.plausible_range("spo2_plausible_range_pct"),
        "respiratory_rate_per_min": settings.plausible_range("respiratory_rate_plausible_range_per_min"),
        "weight_kg": settings.plausible_range("weight_plausible_range_kg"),
        "height_cm": settings.plausible_range("height_plausible_range_cm"),
    }


def saved_notice(part: str, intake: Intake) -> str | None:
    """What the page says after a part was saved (the scales with their totals or risk)."""
    if part == "phq9" and intake.phq9 is not None:
        return f"PHQ-9 saved: total {intake.phq9.total_score} of 27."
    if part == "madrs" and intake.madrs is not None:
        return f"MADRS saved: total {intake.madrs.total_score} of 60."
    if part == "cssrs" and intake.cssrs is not None:
        return f"C-SSRS screener saved: risk {intake.cssrs.risk.value}."
    if part == "reopen":
        return "Intake reopened: the earlier decision is kept in its history."
    title = PART_TITLES.get(part)
    return f"{title} saved." if title else None
