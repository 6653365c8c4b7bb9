"""The event catalogue (shared/events/catalogue.py), from which docs/asyncapi.yaml is generated: every event code has
its entry, and the messages the services build from real domain objects hold what their entry declares."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.documentation.domain import session as s
from services.documentation.domain.note import draft_note, sign_note
from services.documentation.messages import events_for_change
from services.documentation.translators.message_out import note_signed_focus
from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.recording import reopen_intake
from services.intake.domain.settings import IntakeSettings
from services.intake.messages import decision_message, reopened_message
from services.orders.course.domain.course import (
    acknowledge_alert,
    record_clinical_event,
    record_score,
    start_maintenance,
)
from services.orders.course.domain.measurements import ScoreContext, ScoreSource
from services.orders.course.domain.model import ClinicalEvent, ClinicalEventKind
from services.orders.course.messages import course_events, course_message
from services.orders.domain.lifecycle import cancel_order, hold_order
from services.orders.messages import cpoe_unreadable_response, order_event_message
from shared.errors import FieldInputError
from shared.events import catalogue, event_codes, topics
from shared.events.catalogue import any_number, at_least_one, focus_matches, one, optional
from shared.fhir.datatypes import FhirJson
from shared.fhir.messaging import build_message, parse_message
from tests.unit.documentation import builders as documentation
from tests.unit.documentation.test_note import documented_session
from tests.unit.intake.builders import DECIDED_AT, HOPPER, eligible_intake
from tests.unit.orders import builders as orders
from tests.unit.orders.course import builders as course

SOURCE = "urn:ketalink:test"


def test_every_code_of_every_topic_has_its_entry_and_nothing_else_has_one() -> None:
    declared = {(topic, code) for topic, group in event_codes.CODES_BY_TOPIC.items() for code in group}
    legacy = {(topic, code) for topic, group in event_codes.LEGACY_CODES_BY_TOPIC.items() for code in group}
    assert set(catalogue.CATALOGUE) == declared | legacy
    assert {key for key, spec in catalogue.CATALOGUE.items() if spec.legacy} == legacy
    assert {spec.code for spec in catalogue.CATALOGUE.values()} == event_codes.all_codes()


def test_every_entry_says_what_it_announces_and_carries_something() -> None:
    for spec in catalogue.CATALOGUE.values():
        assert spec.summary.endswith("."), spec.code
        assert bool(spec.focus) != spec.is_response, spec.code  # an event has a focus, a response only details
        assert spec.resource_types, spec.code


def test_the_focus_matcher_takes_order_and_counts_into_account() -> None:
    focus = (one("Encounter"), optional("Procedure"), any_number("Observation"), at_least_one("Flag"))
    assert focus_matches(focus, ["Encounter", "Flag"])
    assert focus_matches(focus, ["Encounter", "Procedure", "Observation", "Observation", "Flag", "Flag"])
    assert not focus_matches(focus, ["Encounter"])  # a Flag at least
    assert not focus_matches(focus, ["Encounter", "Procedure", "Procedure", "Flag"])  # one Procedure at most
    assert not focus_matches(focus, ["Procedure", "Encounter", "Flag"])  # out of order
    assert not focus_matches(focus, ["Encounter", "Flag", "Task"])  # not declared
    assert not focus_matches((one("Flag"),), ["FlagX"])  # whole names only


def _focus_types(bundle: FhirJson) -> list[str]:
    """The resource types of the entries ``MessageHeader.focus`` names, in its order."""
    by_url = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
    header = bundle["entry"][0]["resource"]
    return [by_url[focus["reference"]]["resourceType"] for focus in header.get("focus", [])]


def _intake_messages() -> list[tuple[str, FhirJson]]:
    intake_settings = IntakeSettings()
    decided = decide_eligibility(eligible_intake(intake_settings), intake_settings, DECIDED_AT)
    reopened = reopen_intake(decided, HOPPER, DECIDED_AT + timedelta(hours=1), "new medication")
    return [(topics.INTAKE_EVENTS, decision_message(decided, SOURCE)),
            (topics.INTAKE_EVENTS, reopened_message(reopened, SOURCE))]


def _order_messages() -> list[tuple[str, FhirJson]]:
    protocol, signed = orders.settings(), orders.signed()
    later = orders.NOW + timedelta(hours=1)
    steps = [signed, hold_order(signed, orders.PRESCRIBER, "blood pressure", later),
             cancel_order(signed, orders.PRESCRIBER, "patient declined", later)]
    messages = [order_event_message(step, protocol, SOURCE) for step in steps]
    placed = parse_message(build_message(event_codes.CPOE_ORDER_PLACED, "urn:ehr", [orders.cpoe_medication_request()],
                                         with_provenance=False))
    response = cpoe_unreadable_response(placed, FieldInputError("dosageInstruction", "missing"), SOURCE)
    return [(topics.ORDERS_EVENTS, message) for message in (*messages, response) if message is not None]


def _course_messages() -> list[tuple[str, FhirJson]]:
    settings, protocol = course.settings(), course.protocol()
    started = course.new_course()
    changes = [(None, started)]
    scored = course.give(started, [1], phq9_totals={1: 20})
    alerted = record_score(scored, course.phq9("item9", 14, course.infusion_time(1) + timedelta(days=1),
                                               ScoreContext.FOLLOW_UP, item9=2, source=ScoreSource.CLINICIAN,
                                               recorded_by=course.CLINICIAN), settings, protocol)
    changes += [(scored, alerted), (alerted, acknowledge_alert(alerted, "item9-phq9-item9", course.CLINICIAN,
                                                               course.infusion_time(1) + timedelta(days=2), "called"))]
    responding = course.give(started, [1, 2], phq9_totals={1: 20, 2: 15})
    responded = record_score(responding, course.phq9("s3", 10, course.infusion_time(3) - timedelta(minutes=30)),
                             settings, protocol)
    remitted = record_score(responded, course.phq9("s4", 4, course.infusion_time(4) - timedelta(minutes=30)),
                            settings, protocol)
    changes += [(responding, responded), (responded, remitted)]
    induced = course.give(started, range(1, 7), phq9_totals={1: 20, 2: 15, 3: 9, 4: 8, 5: 7, 6: 6})
    maintained = start_maintenance(induced, 21, course.CLINICIAN, course.infusion_time(6) + timedelta(days=2),
                                   settings, protocol)
    later = course.infusion_time(6) + timedelta(days=20)
    worse = record_score(maintained, course.phq9("m1", 16, later), settings, protocol)
    changes += [(worse, record_score(worse, course.phq9("m2", 17, later + timedelta(days=7)), settings, protocol))]
    remitted = course.give(started, range(1, 7), phq9_totals={1: 20, 2: 15, 3: 9, 4: 8, 5: 4, 6: 3})
    remitted = start_maintenance(remitted, 21, course.CLINICIAN, course.infusion_time(6) + timedelta(days=2),
                                 settings, protocol)
    attempt = ClinicalEvent("ev-1", ClinicalEventKind.SUICIDE_ATTEMPT, course.infusion_time(6) + timedelta(days=9),
                            course.CLINICIAN)
    changes += [(remitted, record_clinical_event(remitted, attempt, settings, protocol))]
    return [(topics.ORDERS_EVENTS, course_message(event, SOURCE))
            for before, after in changes
            for event in course_events(before, after, settings, course.START.date(), course.CLINICIAN)]


def _documentation_messages() -> list[tuple[str, FhirJson]]:
    order = documentation.make_order()
    at, settings = documentation.at, documentation.SETTINGS
    scheduled = s.create_session(order, 1)
    infusing = documentation.infusing()
    alerted = s.record_vitals(infusing, documentation.reading("r-0940", at(9, 40), 184, 112, 90), settings)
    ready = documentation.ready_for_discharge()
    discharged = s.discharge(ready, documentation.assessment(), settings, documentation.DOCTOR, at(10, 25))
    changes = [(scheduled, documentation.checked_in()), (documentation.checked_in(), documentation.pre_checked()),
               (documentation.pre_checked(), infusing), (infusing, alerted), (ready, discharged)]
    messages = [build_message(event.event_code, SOURCE, event.focus, author=event.author)
                for before, after in changes for event in events_for_change(before, after, order)]
    note = sign_note(draft_note(documented_session(order), order, "note-1", documentation.DOCTOR, at(10, 40)),
                     documentation.DOCTOR, at(10, 45))
    messages.append(build_message(event_codes.NOTE_SIGNED, SOURCE, note_signed_focus(note)))
    return [(topics.DOCUMENTATION_EVENTS, message) for message in messages]


@pytest.fixture(scope="module")
def service_messages() -> list[tuple[str, FhirJson]]:
    return [*_intake_messages(), *_order_messages(), *_course_messages(), *_documentation_messages()]


def test_the_messages_the_services_build_hold_what_the_catalogue_declares(service_messages) -> None:
    mismatches = []
    for topic, bundle in service_messages:
        header = bundle["entry"][0]["resource"]
        spec = catalogue.CATALOGUE[(topic, header["eventCoding"]["code"])]
        if spec.is_response:
            details = [entry["resource"]["resourceType"] for entry in bundle["entry"][1:]]
            ok = "response" in header and details == [spec.response_details.resource_type]
        else:
            ok = "response" not in header and focus_matches(spec.focus, _focus_types(bundle))
        if not ok:
            mismatches.append((spec.code, _focus_types(bundle)))
    assert mismatches == []


def test_the_scenarios_reach_every_code_the_services_send(service_messages) -> None:
    """So that the check above covers the catalogue: every current code of the three services' topics is built."""
    built = {(topic, bundle["entry"][0]["resource"]["eventCoding"]["code"]) for topic, bundle in service_messages}
    sent = {(topic, code) for topic in (topics.INTAKE_EVENTS, topics.ORDERS_EVENTS, topics.DOCUMENTATION_EVENTS)
            for code in event_codes.CODES_BY_TOPIC[topic]}
    assert sent - built == set()
