"""People by reference in intake: every clinician in what intake writes to the EHR is a ``Practitioner`` reference
with its display; the one exception is the patient's legal representative who signs the consent, named as the
consent form gives them; intakes stored when people were plain names still load."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from services.intake.domain.consent import ConsentSigner
from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.model import Intake
from services.intake.domain.recording import record_consent, reopen_intake, start_intake
from services.intake.domain.settings import IntakeSettings
from services.intake.messages import decision_message, reopened_message
from shared.fhir.messaging import parse_message
from shared.people import Person
from tests.support.people import as_plain_names, people_without_reference, person_elements
from tests.unit.intake.builders import ADA, CONSENT_GIVEN, DECIDED_AT, HOPPER, eligible_intake

SOURCE = "urn:ketalink:intake"


def representative_named(path: str, reference: dict[str, Any]) -> bool:
    """Who signed the consent when it is not the patient: a legal representative, a RelatedPerson the EHR may not
    hold (the consent form names them); a display is what the clinic has, and what Consent.performer allows."""
    return path.startswith("Consent.performer") and reference.get("type") == "RelatedPerson"


def _messages(settings: IntakeSettings) -> list[dict[str, Any]]:
    decided = decide_eligibility(eligible_intake(settings), settings, DECIDED_AT, HOPPER)
    reopened = reopen_intake(decided, HOPPER, DECIDED_AT + timedelta(hours=1), "new medication")
    by_representative = record_consent(eligible_intake(settings), replace(
        CONSENT_GIVEN, signed_by=ConsentSigner.LEGAL_REPRESENTATIVE, signer_name="Sam Hill (guardian)"), settings)
    represented = decide_eligibility(by_representative, settings, DECIDED_AT, HOPPER)
    return [decision_message(decided, SOURCE), reopened_message(reopened, SOURCE),
            decision_message(represented, SOURCE)]


def test_every_clinician_intake_writes_to_the_ehr_is_a_reference():
    resources = [r for message in _messages(IntakeSettings()) for r in parse_message(message).resources]
    assert people_without_reference(resources, representative_named) == []
    seen = {path for path, _ in person_elements(resources)}
    assert any(path.startswith("QuestionnaireResponse.author") for path in seen)  # the screen and the MADRS rater
    assert any(path.startswith("Provenance.agent") for path in seen)
    notes = [note for r in resources if r["resourceType"] == "RiskAssessment" for note in r.get("note", [])]
    assert notes and all(note["authorReference"] == HOPPER.fhir_reference() for note in notes)  # who reopened


def test_only_the_patients_representative_is_named_without_reference():
    resources = [r for message in _messages(IntakeSettings()) for r in parse_message(message).resources]
    assert people_without_reference(resources) == ["Consent.performer[0]"]



def test_intakes_stored_with_plain_names_still_load():
    settings = IntakeSettings()
    decided = decide_eligibility(eligible_intake(settings), settings, DECIDED_AT, HOPPER)
    reopened = reopen_intake(decided, HOPPER, DECIDED_AT + timedelta(hours=1), "new medication")
    old = Intake.from_dict(as_plain_names(reopened.to_dict()))
    assert old.reopenings[0].reopened_by == Person(None, HOPPER.display)
    assert old.contraindications is not None and old.contraindications.screened_by == Person(None, ADA.display)
    started = start_intake("i-1", "p-1", DECIDED_AT, started_by=ADA).to_dict()
    assert Intake.from_dict({**started, "started_by": "Dr Ada Lovelace"}).started_by == Person(None, ADA.display)
