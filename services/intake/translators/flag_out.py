"""A FHIR Flag per contraindication answered "present", so the EHR chart shows it to everyone who opens it."""
from __future__ import annotations

from services.intake.domain.contraindications import Presence, contraindication_label
from services.intake.domain.model import Intake
from services.intake.translators.codes import FLAG_KIND, contraindication_code
from services.intake.translators.common import FhirJson
from shared.fhir.codes import CLINICAL_FLAG_CATEGORY
from shared.fhir.datatypes import codeable_concept, identifier, instant, reference
from shared.fhir.validate import validate_resource


def contraindication_flags(intake: Intake, patient_id: str) -> list[FhirJson]:
    screen = intake.contraindications
    if screen is None:
        return []
    flags = []
    for answer in screen.answers:
        if answer.presence is not Presence.PRESENT:
            continue
        text = f"Contraindication to IV ketamine: {contraindication_label(answer.key)}"
        if answer.note:
            text += f" ({answer.note})"
        flags.append(validate_resource({
            "resourceType": "Flag",
            "identifier": [identifier(FLAG_KIND, f"{intake.intake_id}-{answer.key}")],
            "status": "active",
            "category": [codeable_concept(CLINICAL_FLAG_CATEGORY)],
            "code": codeable_concept(contraindication_code(answer.key), text),
            "subject": reference("Patient", patient_id),
            "period": {"start": instant(screen.screened_at)},
        }))
    return flags
