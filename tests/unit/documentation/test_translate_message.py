from dataclasses import replace

import pytest

from services.documentation.domain import session as s
from services.documentation.domain.adverse_events import (
    AdverseEventKind,
    AdverseEventOutcome,
    AdverseEventRecord,
    Severity,
)
from services.documentation.domain.cadss import CadssAssessment, CadssForm, CadssNotRated
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.flowsheet import AlertAction, AlertActionKind
from services.documentation.domain.note import draft_note, sign_note
from services.documentation.domain.settings import PRE_CHECK_READINGS
from services.documentation.domain.rescue import RescueDoseUnit, RescueMedication, RescueRoute
from services.documentation.domain.vitals import VitalsReading, VitalsSource
from services.documentation.translators import message_out
from shared.people import Person
from shared.fhir.codes import IDENTIFIER_BASE

from .builders import (
    DOCTOR,
    NURSE,
    SETTINGS,
    assessment,
    at,
    checked_in,
    controlled_substance,
    infusing,
    make_order,
    pre_checked,
    baseline,
    reading,
    ready_for_discharge,
)

ORDER = make_order()


def carries_ketalink_identifier(resource):
    identifiers = resource.get("identifier")
    identifiers = [identifiers] if isinstance(identifiers, dict) else identifiers or []
    return any(i["system"].startswith(IDENTIFIER_BASE) for i in identifiers)


def full_session():
    session = infusing()
    device = VitalsReading(
        "ehr-7", at(9, 25), Person(None, "EHR"), heart_rate_per_min=88, source=VitalsSource.EHR,
        ehr_observation_ids=("7",)
    )
    session = s.record_vitals(session, device, SETTINGS)
    session = s.record_vitals(session, reading("r-0940", at(9, 40), 182, 100), SETTINGS)
    labetalol = RescueMedication("labetalol", 10, RescueDoseUnit.MILLIGRAM, RescueRoute.INTRAVENOUS)
    session = s.record_action(session, "r-0940-alert", AlertAction(AlertActionKind.MEDICATION_GIVEN, DOCTOR,
                                                                              at(9, 41), rescue=labetalol))
    session = s.record_cadss(
        session, CadssAssessment("c1", CadssForm.SHORT, (1,) * 6, at(9, 50), NURSE, scheduled_minute=40), SETTINGS
    )
    session = s.record_adverse_event(
        session,
        AdverseEventRecord(
            "ae-1", AdverseEventKind.NAUSEA, Severity.MILD, AdverseEventOutcome.RESOLVED, at(9, 30), NURSE
        ),
    )
    ready = ready_for_discharge()  # borrow its recovery readings and administration
    session = s.end_infusion(session, NURSE, at(9, 50))
    for recovery_reading in ready.readings[2:]:
        session = s.record_vitals(session, recovery_reading, SETTINGS)
    session = s.record_administration(session, ORDER, ready.administration, SETTINGS)
    session = s.review_given_against_ordered(session, NURSE, at(10, 0), "", SETTINGS)
    session = s.record_cadss_not_rated(session, CadssNotRated("asleep", NURSE, at(10, 21), end_of_recovery=True),
                                       SETTINGS)
    session = s.discharge(session, assessment(), SETTINGS, NURSE, at(10, 25))
    return s.record_controlled_substance(session, controlled_substance(), SETTINGS)


def test_session_started_gives_encounter_then_procedure_once_infusing():
    assert [r["resourceType"] for r in message_out.session_started_focus(checked_in(), ORDER)] == ["Encounter"]
    focus = message_out.session_started_focus(infusing(), ORDER)
    assert [(r["resourceType"], r["status"]) for r in focus] == [
        ("Encounter", "in-progress"),
        ("Procedure", "in-progress"),
    ]


def test_vitals_recorded_sends_our_readings_but_not_the_ehrs_own():
    session = full_session()
    assert len(message_out.vitals_recorded_focus(session, "r-0940")) == 3
    assert message_out.vitals_recorded_focus(session, "ehr-7") == []
    with pytest.raises(DocumentationInputError):
        message_out.vitals_recorded_focus(session, "nope")


def test_pre_check_vitals_are_the_observations_of_that_checks_reading():
    first = pre_checked()
    rechecked = s.record_pre_check(first, ORDER, baseline("pre-2", at(9, 8), rass_score=None),
                                   first.pre_checks[0].confirmations, 80.0,
                                   replace(SETTINGS, pre_check_required_readings=PRE_CHECK_READINGS[:5]),
                                   NURSE, at(9, 9))
    focus = message_out.pre_check_vitals_focus(rechecked, "pre-1")
    assert [r["identifier"][0]["value"] for r in focus] == ["ord-1-1/pre-1/bp", "ord-1-1/pre-1/hr",
                                                             "ord-1-1/pre-1/spo2", "ord-1-1/pre-1/rr",
                                                             "ord-1-1/pre-1/rass"]
    assert all(r["encounter"]["identifier"]["value"] == "ord-1-1" for r in focus)
    assert len(message_out.pre_check_vitals_focus(rechecked, "pre-2")) == 4  # no RASS: the clinic does not require it


def test_pre_check_vitals_refuse_a_reading_that_is_not_a_pre_checks():
    session = s.record_vitals(infusing(), reading("r-0940", at(9, 40)), SETTINGS)
    with pytest.raises(DocumentationInputError) as error:
        message_out.pre_check_vitals_focus(session, "r-0940")  # a flowsheet reading
    assert error.value.field == "reading_id"


def test_alert_raised_gives_the_flag_then_the_readings_observations():
    session = s.record_vitals(infusing(), reading("r-0940", at(9, 40), 182, 100), SETTINGS)
    focus = message_out.alert_raised_focus(session, "r-0940-alert")
    assert [r["resourceType"] for r in focus] == ["Flag", "Observation", "Observation", "Observation"]
    assert focus[0]["status"] == "active"
    with pytest.raises(DocumentationInputError):
        message_out.alert_raised_focus(session, "other")


def test_session_completed_gives_every_resource_each_with_a_ketalink_identifier():
    focus = message_out.session_completed_focus(full_session(), ORDER)
    types = [r["resourceType"] for r in focus]
    assert types[:3] == ["Encounter", "Procedure", "MedicationAdministration"]
    # r-0940 + three recovery readings x 3 Observations each (the EHR's HR reading is not sent back) + CADSS
    assert types.count("Observation") == 4 * 3 + 1
    assert types[-5:] == ["AdverseEvent", "Flag", "MedicationAdministration", "Provenance", "Task"]
    assert all(carries_ketalink_identifier(r) for r in focus if r["resourceType"] != "Provenance")
    assert focus[0]["status"] == "finished" and focus[1]["status"] == "completed"


def test_session_completed_needs_an_ended_session():
    with pytest.raises(TransitionNotAllowed):
        message_out.session_completed_focus(infusing(), ORDER)
    deferred = s.defer(checked_in(), "unwell", NURSE, at(9, 5))
    assert [r["resourceType"] for r in message_out.session_completed_focus(deferred, ORDER)] == [
        "Encounter",
        "Procedure",
    ]


def test_note_signed_gives_document_and_signature():
    note = sign_note(draft_note(full_session(), ORDER, "note-1", DOCTOR, at(10, 40)), DOCTOR, at(10, 45))
    document, provenance = message_out.note_signed_focus(note)
    assert document["resourceType"] == "DocumentReference" and carries_ketalink_identifier(document)
    assert provenance["resourceType"] == "Provenance" and not carries_ketalink_identifier(provenance)
