"""People by reference in documentation: every person in what the service writes to the EHR is a ``Practitioner``
reference with its display (or Ketalink's Device); sessions and notes stored when people were plain names load."""
from __future__ import annotations

from typing import Any

from services.documentation.domain import session as s
from services.documentation.domain.note import ProcedureNote, draft_note, sign_note
from services.documentation.messages import events_for_change
from services.documentation.translators import message_out
from shared.fhir.messaging import build_message, parse_message
from shared.people import Person, ketalink
from tests.support.people import as_plain_names, people_without_reference, person_elements

from .builders import DOCTOR, NURSE, SETTINGS, at, checked_in, infusing, pre_checked, reading
from .test_translate_message import ORDER, full_session


def _messages() -> list[dict[str, Any]]:
    """Every message the service publishes along a session, from check-in to the signed note."""
    session = full_session()
    note = sign_note(draft_note(session, ORDER, "note-1", DOCTOR, at(10, 40)), DOCTOR, at(10, 45), session)
    alerting = s.record_vitals(infusing(), reading("r-0940", at(9, 40), 182, 100), SETTINGS)
    focuses = [
        (message_out.session_started_focus(checked_in(), ORDER), NURSE),
        (message_out.session_started_focus(infusing(), ORDER), NURSE),
        (message_out.pre_check_vitals_focus(pre_checked(), "pre-1"), NURSE),
        (message_out.vitals_recorded_focus(session, "r-0940"), NURSE),
        (message_out.alert_raised_focus(alerting, "r-0940-alert"), None),
        (message_out.session_completed_focus(session, ORDER), NURSE),
        (message_out.note_signed_focus(note), note.signed_by),
    ]
    cancelled = s.cancel(s.create_session(ORDER, 2), "order cancelled", ketalink("Ketalink orders service"), at(8))
    focuses += [(event.focus, event.author) for event in events_for_change(s.create_session(ORDER, 2), cancelled,
                                                                           ORDER)]
    return [build_message("x", "urn:ketalink:documentation", focus, author=author) for focus, author in focuses]


def test_every_person_the_service_writes_to_the_ehr_is_a_reference():
    resources = [resource for message in _messages() for resource in parse_message(message).resources]
    assert people_without_reference(resources) == []
    seen = {path.split("[")[0] for path, _ in person_elements(resources)}
    for element in ("Procedure.performer", "MedicationAdministration.performer", "Observation.performer",
                    "AdverseEvent.recorder", "DocumentReference.author", "DocumentReference.authenticator",
                    "Task.requester", "Task.owner", "Provenance.agent", "Provenance.signature"):
        assert element in seen, f"the walk found no {element}: it proves nothing about it"
    signature = next(r for r in resources if r["resourceType"] == "Provenance" and r.get("signature"))
    assert signature["signature"][0]["who"] == DOCTOR.fhir_reference()


def test_the_walk_finds_a_person_named_only():
    assert people_without_reference([{"resourceType": "Procedure", "performer": [{"actor": {"display": "X"}}]},
                                     {"resourceType": "Provenance", "agent": [{"who": {"display": "Y"}}]}]) == [
        "Procedure.performer[0].actor", "Provenance.agent[0].who"]



def test_sessions_and_notes_stored_with_plain_names_still_load():
    session = full_session()
    old = as_plain_names(session.to_dict())
    old["controlled_substance"]["recorded_by_reference"] = "Practitioner/rn-dana-hill"  # how it was kept then
    loaded = s.Session.from_dict(old)
    assert loaded.transitions[-1].by == Person(None, NURSE.display)
    assert loaded.readings[-1].recorded_by == Person(None, NURSE.display)
    assert loaded.controlled_substance.recorded_by == NURSE  # the reference it had, kept
    assert loaded.discharge_record.follow_up.owner == Person(None, NURSE.display)
    draft = as_plain_names(draft_note(session, ORDER, "note-1", DOCTOR, at(10, 40)).to_dict())
    draft["signed_by"] = ""  # a draft stored before: no signer yet
    assert ProcedureNote.from_dict(draft).signed_by is None
    assert message_out.note_signed_focus(sign_note(ProcedureNote.from_dict(draft), DOCTOR, at(10, 45), session))
