"""Informed consent, with the ride-home agreement and the consent elements explained and acknowledged."""
from __future__ import annotations

import dataclasses
from datetime import datetime

from services.intake.domain.checks import optional_text, require_aware, require_text
from services.intake.domain.consent import ConsentDecision, ConsentRecord, ConsentSigner, consent_element_label
from services.intake.domain.errors import IntakeInputError
from services.intake.domain.model import Intake
from services.intake.domain.plausibility import check_part_time
from services.intake.domain.recording.guards import checked_enum, require_in_progress
from services.intake.domain.settings import IntakeSettings


def record_consent(intake: Intake, consent: ConsentRecord, settings: IntakeSettings | None = None,
                   now: datetime | None = None) -> Intake:
    """The consent with the elements explained and acknowledged: each must be one of the clinic's
    ``consent_elements``, once; the decision lists those still missing."""
    settings = settings or IntakeSettings()
    require_in_progress(intake)
    decision = checked_enum(ConsentDecision, consent.decision, "consent.decision")
    signed_by = checked_enum(ConsentSigner, consent.signed_by, "consent.signed_by")
    signer_name = optional_text(consent.signer_name, "consent.signer_name")
    if signed_by is ConsentSigner.LEGAL_REPRESENTATIVE and signer_name is None:
        raise IntakeInputError("consent.signer_name", "the legal representative's name is required")
    require_aware(consent.signed_at, "consent.signed_at")
    check_part_time(intake, consent.signed_at, "consent.signed_at", settings, now)
    version = require_text(consent.consent_text_version, "consent.consent_text_version")
    if not isinstance(consent.ride_home_agreed, bool):
        raise IntakeInputError("consent.ride_home_agreed", "must be yes (true) or no (false)")
    elements = _checked_consent_elements(consent.elements_acknowledged, settings)
    checked = ConsentRecord(decision, signed_by, signer_name, consent.signed_at, version, consent.ride_home_agreed,
                            elements)
    return dataclasses.replace(intake, consent=checked)


def _checked_consent_elements(elements: object, settings: IntakeSettings) -> tuple[str, ...]:
    if not isinstance(elements, (tuple, list)):
        raise IntakeInputError("consent.elements_acknowledged", "must be a list of consent element keys")
    seen: set[str] = set()
    for index, key in enumerate(elements):
        if key not in settings.consent_elements:
            raise IntakeInputError(f"consent.elements_acknowledged[{index}]",
                                   f"{key!r} is not one of the clinic's consent elements: "
                                   f"{', '.join(settings.consent_elements)}")
        if key in seen:
            raise IntakeInputError(f"consent.elements_acknowledged[{index}]",
                                   f"{consent_element_label(key)} is listed twice")
        seen.add(key)
    return tuple(key for key in settings.consent_elements if key in seen)  # the clinic's order
