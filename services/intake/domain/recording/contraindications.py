"""The contraindication screen and the clinician overrides of what it (or the medication list) flags."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from services.intake.domain.checks import optional_text, require_aware, require_text, require_person
from services.intake.domain.contraindications import (
    ContraindicationAnswer,
    ContraindicationClass,
    ContraindicationScreen,
    Presence,
    contraindication_label,
)
from services.intake.domain.errors import IntakeInputError
from services.intake.domain.medications import interacting_drug_flags
from services.intake.domain.model import Intake
from services.intake.domain.overrides import ClinicianOverride, OverrideTarget
from services.intake.domain.plausibility import check_part_time
from services.intake.domain.pregnancy import childbearing_potential, why_applicable
from services.intake.domain.recording.guards import checked_enum, require_in_progress
from services.intake.domain.settings import IntakeSettings
from shared.people import Person


def record_contraindications(
    intake: Intake,
    answers: Sequence[ContraindicationAnswer],
    screened_at: datetime,
    screened_by: Person,
    settings: IntakeSettings,
    now: datetime | None = None,
) -> Intake:
    """The screen (replaces the previous one). Keys must be configured items; an item left out counts as not
    answered at decision time. "Not applicable" is accepted only for a sex- and age-dependent item (pregnancy) of a
    patient the EHR record shows cannot be of child-bearing potential (domain/pregnancy.py)."""
    require_in_progress(intake)
    require_aware(screened_at, "contraindications.screened_at")
    check_part_time(intake, screened_at, "contraindications.screened_at", settings, now)
    screened_by = require_person(screened_by, "contraindications.screened_by")
    seen: set[str] = set()
    checked = []
    for index, answer in enumerate(answers):
        field = f"contraindications.answers[{index}]"
        if settings.contraindication_class(answer.key) is None:
            raise IntakeInputError(f"{field}.key", f"unknown contraindication {answer.key!r}")
        if answer.key in seen:
            raise IntakeInputError(f"{field}.key", f"{answer.key!r} is answered twice")
        seen.add(answer.key)
        presence = checked_enum(Presence, answer.presence, f"{field}.presence")
        if presence is Presence.NOT_APPLICABLE:
            _check_not_applicable(intake, answer.key, f"{field}.presence", settings)
        checked.append(ContraindicationAnswer(answer.key, presence, optional_text(answer.note, f"{field}.note")))
    screen = ContraindicationScreen(tuple(checked), screened_at, screened_by)
    return dataclasses.replace(intake, contraindications=screen, overrides=_overrides_kept(intake, screen))


def _overrides_kept(intake: Intake, screen: ContraindicationScreen) -> tuple[ClinicianOverride, ...]:
    """The overrides that still hold under a new screen: an override of a contraindication was given for the
    answer it saw (e.g. "unknown", "negative hCG today"), so it goes when the new screen answers that item
    differently (as a new C-SSRS screen needs a new review). Drug-class overrides are not the screen's."""
    before = intake.contraindications

    def answered_alike(key: str) -> bool:
        old = before.answer_for(key) if before is not None else None
        new = screen.answer_for(key)
        return old is not None and new is not None and old.presence is new.presence

    return tuple(o for o in intake.overrides
                 if o.target is not OverrideTarget.CONTRAINDICATION or answered_alike(o.key))


def _check_not_applicable(intake: Intake, key: str, field: str, settings: IntakeSettings) -> None:
    if key not in settings.sex_and_age_dependent_contraindications:
        raise IntakeInputError(field, f"{contraindication_label(key)} cannot be 'not applicable': answer present, "
                                      "absent or unknown")
    if childbearing_potential(intake.patient, settings):
        raise IntakeInputError(field, f"{contraindication_label(key)} applies to this patient "
                                      f"({why_applicable(intake.patient)}): answer present, absent or unknown")


def record_override(intake: Intake, override: ClinicianOverride, settings: IntakeSettings) -> Intake:
    """A clinician's documented override of a present/unknown relative contraindication or a flagged (non-blocking)
    interacting drug class; replaces an earlier override of the same item. Absolute items cannot be overridden."""
    require_in_progress(intake)
    target = checked_enum(OverrideTarget, override.target, "override.target")
    overridden_by = require_person(override.overridden_by, "override.overridden_by")
    require_aware(override.overridden_at, "override.overridden_at")
    reason = require_text(override.reason, "override.reason")
    if target is OverrideTarget.CONTRAINDICATION:
        _check_contraindication_override(intake, override.key, settings)
    else:
        _check_drug_class_override(intake, override.key, settings)
    checked = ClinicianOverride(target, override.key, overridden_by, override.overridden_at, reason)
    kept = tuple(o for o in intake.overrides if (o.target, o.key) != (target, override.key))
    return dataclasses.replace(intake, overrides=kept + (checked,))


def _check_contraindication_override(intake: Intake, key: str, settings: IntakeSettings) -> None:
    item_class = settings.contraindication_class(key)
    if item_class is None:
        raise IntakeInputError("override.key", f"unknown contraindication {key!r}")
    if item_class is ContraindicationClass.ABSOLUTE:
        raise IntakeInputError(
            "override.key", f"{contraindication_label(key)} is an absolute contraindication and cannot be overridden"
        )
    answer = intake.contraindications.answer_for(key) if intake.contraindications else None
    if answer is None or answer.presence in (Presence.ABSENT, Presence.NOT_APPLICABLE):
        raise IntakeInputError("override.key", f"{contraindication_label(key)} is not present or unknown in the screen")


def _check_drug_class_override(intake: Intake, drug_class: str, settings: IntakeSettings) -> None:
    if drug_class in settings.blocking_interacting_drug_classes:
        raise IntakeInputError("override.key", f"interacting drug class {drug_class!r} blocks and cannot be overridden")
    flags = interacting_drug_flags(intake.medications or (), settings.interacting_drug_class_terms,
                                   settings.interacting_drug_class_codes)
    if drug_class not in {flag.drug_class for flag in flags}:
        raise IntakeInputError("override.key", f"no current medication is flagged as {drug_class!r}")
