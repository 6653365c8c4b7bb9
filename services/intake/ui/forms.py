"""The intake page's forms, both ways: a posted form → the domain values the service layer records, and a stored
intake → the values the forms show.

Field names are the domain's own error paths (``phq9.items[8]``, ``vitals.blood_pressure.systolic_mmhg``,
``cssrs.ideation-with-method``), so the domain's IntakeInputError lands next to the field that caused it. Parsing
only turns text into numbers and choices; blank stays None and the domain, the source of truth, says what is
missing or out of range.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TypeVar

from services.intake.domain.errors import IntakeInputError
from services.intake.domain.model import Intake
from services.intake.domain.settings import IntakeSettings
from services.intake.domain.consent import ConsentDecision, ConsentRecord, ConsentSigner
from services.intake.domain.contraindications import ContraindicationAnswer, Presence
from services.intake.domain.cssrs import CssrsItem
from services.intake.domain.overrides import ClinicianOverride, OverrideTarget
from services.intake.domain.scales import MADRS_ITEM_COUNT, PHQ9_ITEM_COUNT
from services.intake.domain.trials import AntidepressantTrial, prior_trial_candidates
from services.intake.domain.vitals import BaselineVitals, BloodPressure, VitalReading
from services.intake.presenters import contraindication_keys
from shared.people import Person

Form = Mapping[str, str]
E = TypeVar("E", bound=Enum)
YES, NO, NOT_ASKED = "yes", "no", "not-asked"
_TRIAL_ROW = re.compile(r"^trials\[(\d+)\]\.")
MAX_TRIAL_ROWS = 50

# Part → the prefix of its form fields (a failed form is shown again with what was typed, under this prefix).
FIELD_PREFIXES: dict[str, tuple[str, ...]] = {
    "trials": ("trials[", "trials."),
    "contraindications": ("contraindications.",),
    "vitals": ("vitals.",),
    "phq9": ("phq9.",),
    "madrs": ("madrs.",),
    "cssrs": ("cssrs.",),
    "consent": ("consent.",),
    "cssrs_review": ("cssrs_review.",),
    "urgent_use": ("urgent_use.",),
    "overrides": ("override.",),
    "reopen": ("reopen.",),
}

# Vital measure → (label, unit) in the order the form shows them; blood pressure has its own two fields.
VITAL_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("heart_rate_per_min", "Heart rate", "/min"),
    ("spo2_pct", "Oxygen saturation (SpO2)", "%"),
    ("respiratory_rate_per_min", "Respiratory rate", "/min"),
    ("weight_kg", "Body weight", "kg"),
    ("height_cm", "Body height", "cm"),
)


# --- posted form → domain values ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrialsInput:
    trials: list[AntidepressantTrial]
    rows: list[int]  # form row of each trial (domain paths index the trials; the form indexes its rows)

    def form_field(self, domain_field: str) -> str:
        match = re.match(r"^trials\[(\d+)\]", domain_field)
        if not match or int(match.group(1)) >= len(self.rows):
            return domain_field
        return f"trials[{self.rows[int(match.group(1))]}]" + domain_field[match.end():]


def trials_from_form(form: Form) -> TrialsInput:
    """The rows ticked "include" (an unticked row is not a trial; none ticked records "no prior trials")."""
    rows = sorted({int(m.group(1)) for key in form if (m := _TRIAL_ROW.match(key))})
    trials, kept = [], []
    for row in rows[:MAX_TRIAL_ROWS]:
        if form.get(f"trials[{row}].include") != "on":
            continue
        index = len(trials)
        path = f"trials[{index}]"
        trials.append(AntidepressantTrial(
            drug_name=_text(form, f"trials[{row}].drug_name") or "",
            dose_text=_text(form, f"trials[{row}].dose_text"),
            duration_weeks=_number(form, f"trials[{row}].duration_weeks", f"{path}.duration_weeks"),
            adequate_dose=_yes_no(form, f"trials[{row}].adequate_dose"),
            improvement_pct=_number(form, f"trials[{row}].improvement_pct", f"{path}.improvement_pct"),
            current_episode=_yes_no(form, f"trials[{row}].current_episode"),
        ))  # type: ignore[arg-type] - None where blank: the domain names the missing field
        kept.append(row)
    return TrialsInput(trials, kept)


@dataclass(frozen=True)
class ScreenInput:
    answers: list[ContraindicationAnswer]
    rows: list[int]

    def form_field(self, domain_field: str) -> str:
        match = re.match(r"^contraindications\.answers\[(\d+)\]", domain_field)
        if not match or int(match.group(1)) >= len(self.rows):
            return domain_field
        return f"contraindications.answers[{self.rows[int(match.group(1))]}]" + domain_field[match.end():]


def screen_from_form(form: Form, settings: IntakeSettings) -> ScreenInput:
    """One row per configured item, in the clinic's order; a row left without an answer is not recorded (the
    decision lists it as not answered)."""
    answers, rows = [], []
    for row, key in enumerate(contraindication_keys(settings)):
        presence = form.get(f"contraindications.answers[{row}].presence", "")
        if not presence:
            continue
        try:
            chosen = Presence(presence)
        except ValueError:
            raise IntakeInputError(f"contraindications.answers[{row}].presence",
                                   "choose present, absent or unknown (or not applicable where offered)") from None
        answers.append(ContraindicationAnswer(key, chosen, _text(form, f"contraindications.answers[{row}].note")))
        rows.append(row)
    return ScreenInput(answers, rows)


def vitals_from_form(form: Form, now: datetime) -> BaselineVitals:
    """Readings typed now (measured now); a blank field keeps that measure's earlier reading."""
    systolic = _number(form, "vitals.blood_pressure.systolic_mmhg")
    diastolic = _number(form, "vitals.blood_pressure.diastolic_mmhg")
    if (systolic is None) != (diastolic is None):
        missing = "diastolic_mmhg" if diastolic is None else "systolic_mmhg"
        raise IntakeInputError(f"vitals.blood_pressure.{missing}", "enter both systolic and diastolic pressure")
    readings: dict[str, VitalReading | BloodPressure] = {}
    if systolic is not None and diastolic is not None:
        readings["blood_pressure"] = BloodPressure(systolic, diastolic, now)
    for measure, _label, _unit in VITAL_MEASURES:
        value = _number(form, f"vitals.{measure}.value")
        if value is not None:
            readings[measure] = VitalReading(value, now)
    if not readings:
        raise IntakeInputError("vitals", "enter at least one reading")
    return BaselineVitals(**readings)  # type: ignore[arg-type]


def scale_items_from_form(form: Form, scale: str, count: int) -> list[int | None]:
    """``phq9.items[0..8]`` / ``madrs.items[0..9]`` as whole numbers; blank is None (the domain says "missing")."""
    items: list[int | None] = []
    for index in range(count):
        field = f"{scale}.items[{index}]"
        text = (form.get(field) or "").strip()
        if not text:
            items.append(None)
            continue
        try:
            items.append(int(text))
        except ValueError:
            raise IntakeInputError(field, f"item {index + 1} needs a whole-number score") from None
    return items


def cssrs_from_form(form: Form) -> dict[str, bool | None]:
    answers: dict[str, bool | None] = {}
    for item in CssrsItem:
        choice = form.get(f"cssrs.{item.value}", "")
        answers[item.value] = True if choice == YES else False if choice == NO else None
    return answers


def consent_from_form(form: Form, now: datetime, settings: IntakeSettings | None = None) -> ConsentRecord:
    """The consent, with a tick per element explained and acknowledged (``consent.elements.<key>``)."""
    decision = _choice(form, "consent.decision", ConsentDecision, "choose whether consent was given or refused")
    signed_by = _choice(form, "consent.signed_by", ConsentSigner, "choose who signed")
    ride_home = _yes_no(form, "consent.ride_home_agreed")
    if ride_home is None:
        raise IntakeInputError("consent.ride_home_agreed", "choose yes or no")
    elements = tuple(key for key in (settings or IntakeSettings()).consent_elements
                     if form.get(consent_element_field(key)) == "on")
    return ConsentRecord(decision, signed_by, _text(form, "consent.signer_name"), now,
                         _text(form, "consent.consent_text_version") or "", ride_home, elements)


def consent_element_field(key: str) -> str:
    return f"consent.elements.{key}"


def override_from_form(form: Form, overridden_by: Person, now: datetime) -> ClinicianOverride:
    """One item's override form: the item (hidden ``override.target``/``override.key``) and its reason field."""
    target = _choice(form, "override.target", OverrideTarget, "unknown override target")
    key = _text(form, "override.key") or ""
    return ClinicianOverride(target, key, overridden_by, now, _text(form, override_field(target.value, key)) or "")


def override_field(target: str, key: str) -> str:
    """The reason field of one item's override form (each item on the page has its own form)."""
    return f"override.{target}.{key}.reason"


# --- stored intake → form values ------------------------------------------------------------------------------
def stored_values(intake: Intake, settings: IntakeSettings) -> dict[str, str]:
    """What the forms show for the intake as recorded (vitals entry fields start blank: a reading is entered, not
    edited, and the EHR's readings must keep their EHR id)."""
    values: dict[str, str] = {}
    values.update(_trial_values(intake, settings))
    screen = intake.contraindications
    for row, key in enumerate(contraindication_keys(settings)):
        answer = screen.answer_for(key) if screen else None
        if answer is not None:
            values[f"contraindications.answers[{row}].presence"] = answer.presence.value
            values[f"contraindications.answers[{row}].note"] = answer.note or ""
    for scale, response in (("phq9", intake.phq9), ("madrs", intake.madrs)):
        if response is not None:
            values.update({f"{scale}.items[{i}]": str(score) for i, score in enumerate(response.item_scores)})
    if intake.cssrs is not None:
        for item in CssrsItem:
            answer = intake.cssrs.answer_for(item)
            values[f"cssrs.{item.value}"] = NOT_ASKED if answer is None else YES if answer else NO
    consent = intake.consent
    if consent is not None:
        values.update({"consent.decision": consent.decision.value, "consent.signed_by": consent.signed_by.value,
                       "consent.signer_name": consent.signer_name or "",
                       "consent.consent_text_version": consent.consent_text_version,
                       "consent.ride_home_agreed": YES if consent.ride_home_agreed else NO})
        values.update({consent_element_field(key): "on" for key in consent.elements_acknowledged})
    review = intake.cssrs_review
    if review is not None:
        values.update({"cssrs_review.outcome": review.outcome.value, "cssrs_review.note": review.note})
    if intake.urgent_use is not None:
        values["urgent_use.reason"] = intake.urgent_use.reason
    return values


def _trial_values(intake: Intake, settings: IntakeSettings) -> dict[str, str]:
    """Recorded trials, or (before any are confirmed) the EHR's antidepressants as candidate rows to confirm; plus
    one blank row for a trial the EHR does not list."""
    values: dict[str, str] = {}
    if intake.trials is not None:
        for row, trial in enumerate(intake.trials):
            values.update({
                f"trials[{row}].include": "on", f"trials[{row}].drug_name": trial.drug_name,
                f"trials[{row}].dose_text": trial.dose_text or "",
                f"trials[{row}].duration_weeks": _number_text(trial.duration_weeks),
                f"trials[{row}].adequate_dose": YES if trial.adequate_dose else NO,
                f"trials[{row}].improvement_pct": _number_text(trial.improvement_pct),
                f"trials[{row}].current_episode": YES if trial.current_episode else NO,
            })
        rows = len(intake.trials)
    else:
        candidates = prior_trial_candidates(intake.medications or (), settings.antidepressant_terms,
                                            intake.started_at.date())
        for row, candidate in enumerate(candidates):
            values.update({
                f"trials[{row}].include": "on", f"trials[{row}].drug_name": candidate.drug_name,
                f"trials[{row}].dose_text": candidate.dose_text or "",
                f"trials[{row}].duration_weeks": _number_text(candidate.duration_weeks),
                f"trials[{row}].from_ehr": "yes",
            })
        rows = len(candidates)
    values[f"trials[{rows}].drug_name"] = ""  # the blank row
    return values


def trial_rows(values: Mapping[str, str]) -> list[int]:
    return sorted({int(m.group(1)) for key in values if (m := _TRIAL_ROW.match(key))})


def scale_item_count(scale: str) -> int:
    return {"phq9": PHQ9_ITEM_COUNT, "madrs": MADRS_ITEM_COUNT}[scale]


# --- text → values --------------------------------------------------------------------------------------------
def _text(form: Form, field: str) -> str | None:
    text = (form.get(field) or "").strip()
    return text or None


def _number(form: Form, field: str, domain_field: str | None = None) -> float | None:
    text = (form.get(field) or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise IntakeInputError(domain_field or field, "enter a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise IntakeInputError(domain_field or field, "enter a number")
    return value


def _yes_no(form: Form, field: str) -> bool | None:
    choice = form.get(field, "")
    return True if choice == YES else False if choice == NO else None


def _choice(form: Form, field: str, choices: type[E], message: str) -> E:
    try:
        return choices(form.get(field, ""))
    except ValueError:
        raise IntakeInputError(field, message) from None


def _number_text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
