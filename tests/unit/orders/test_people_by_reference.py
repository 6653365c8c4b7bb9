"""People by reference in orders and the treatment course: every person in what they write to the EHR is a
``Practitioner`` reference with its display (or Ketalink's Device), and orders and courses stored when people were
plain names still load."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.orders.course.domain.course import (
    acknowledge_alert, record_clinical_event, record_score, start_maintenance, stop_course,
)
from services.orders.course.domain.measurements import ScoreContext, ScoreSource
from services.orders.course.domain.model import ClinicalEvent, ClinicalEventKind, StopReason, TreatmentCourse
from services.orders.course.domain.psychotherapy import record_attendance, refer, schedule_session
from services.orders.course.domain.therapy import Attendance, TherapyKind
from services.orders.course.messages import course_events, course_message
from services.orders.domain.lifecycle import cancel_order, hold_order
from services.orders.domain.order import OrderWithSeries
from services.orders.handlers.core import SESSION_MARKED_BY
from services.orders.messages import infusion_recorded_message, order_event_message
from shared.fhir.messaging import parse_message
from shared.people import KETALINK_DEVICE_URL, Person
from tests.support.people import as_plain_names, people_without_reference, person_elements
from tests.unit.orders import builders as orders
from tests.unit.orders.course import builders as course

SOURCE = "urn:ketalink:orders"


def therapist_named(path: str, _reference: dict[str, Any]) -> bool:
    """The therapist or service a patient is referred to (``ServiceRequest.performer``) is named as the clinician
    typed it: often outside the EHR's directory (a community therapist), and not someone who acted in Ketalink."""
    return path.startswith("ServiceRequest.performer")


def _order_messages() -> list[dict[str, Any]]:
    protocol, signed = orders.settings(), orders.signed()
    later = orders.NOW + timedelta(hours=1)
    steps = [signed, hold_order(signed, orders.NURSE_CY, "blood pressure", later),
             cancel_order(signed, orders.PRESCRIBER, "patient declined", later)]
    messages = [order_event_message(step, protocol, SOURCE) for step in steps]
    messages.append(infusion_recorded_message(signed, protocol, SOURCE, SESSION_MARKED_BY))
    return [message for message in messages if message is not None]


def _course_changes() -> list[tuple[TreatmentCourse | None, TreatmentCourse]]:
    settings, protocol = course.settings(), course.protocol()
    started = course.new_course()
    scored = course.give(started, [1], phq9_totals={1: 20})
    alerted = record_score(scored, course.phq9("item9", 14, course.infusion_time(1) + timedelta(days=1),
                                               ScoreContext.FOLLOW_UP, item9=2, source=ScoreSource.CLINICIAN,
                                               recorded_by=course.CLINICIAN), settings, protocol)
    acknowledged = acknowledge_alert(alerted, "item9-phq9-item9", course.CLINICIAN,
                                     course.infusion_time(1) + timedelta(days=2), "called")
    referred = refer(scored, "ref-1", TherapyKind.INTEGRATION, course.CLINICIAN, course.infusion_time(1),
                     "integration", performer="Community therapist")
    booked = schedule_session(referred, "ts-1", "ref-1", course.infusion_time(1) + timedelta(hours=30), settings,
                              after_infusion_number=1)
    attended = record_attendance(booked, "ts-1", Attendance.ATTENDED, course.CLINICIAN,
                                 course.infusion_time(1) + timedelta(hours=32))
    induced = course.give(started, range(1, 7), phq9_totals={1: 20, 2: 15, 3: 9, 4: 8, 5: 4, 6: 3})
    maintained = start_maintenance(induced, 21, course.CLINICIAN, course.infusion_time(6) + timedelta(days=2),
                                   settings, protocol)
    attempt = ClinicalEvent("ev-1", ClinicalEventKind.SUICIDE_ATTEMPT, course.infusion_time(6) + timedelta(days=9),
                            course.CLINICIAN)
    relapsed = record_clinical_event(maintained, attempt, settings, protocol)
    stopped = stop_course(relapsed, StopReason.RELAPSE, course.CLINICIAN, course.infusion_time(6) + timedelta(days=10))
    return [(None, started), (scored, alerted), (alerted, acknowledged), (scored, referred), (referred, booked),
            (booked, attended), (induced, maintained), (maintained, relapsed), (relapsed, stopped)]


def _course_messages() -> list[dict[str, Any]]:
    return [course_message(event, SOURCE) for before, after in _course_changes()
            for event in course_events(before, after, course.settings(), course.START.date(), course.CLINICIAN)]


def test_every_person_orders_and_the_course_write_to_the_ehr_is_a_reference():
    resources = [resource for message in _order_messages() + _course_messages()
                 for resource in parse_message(message).resources]
    assert people_without_reference(resources, therapist_named) == []
    seen = {path.split("[")[0] for path, _ in person_elements(resources)}
    for element in ("MedicationRequest.requester", "Provenance.agent", "DetectedIssue.mitigation",
                    "QuestionnaireResponse.author", "Observation.performer", "ServiceRequest.requester"):
        assert any(path.startswith(element) for path in seen), f"the walk found no {element}"
    notes = [note for r in resources if r["resourceType"] == "CarePlan" for note in r.get("note", [])]
    assert notes and all("authorReference" in note for note in notes)  # progress notes name their author too
    assert any(note["authorReference"]["reference"] == KETALINK_DEVICE_URL for note in notes)  # the rules' own


def test_a_referral_without_its_therapist_in_the_ehr_is_the_one_person_named_only():
    resources = [resource for message in _course_messages() for resource in parse_message(message).resources]
    assert people_without_reference(resources) == ["ServiceRequest.performer[0]"] * sum(
        1 for r in resources if r["resourceType"] == "ServiceRequest")



def test_orders_and_courses_stored_with_plain_names_still_load():
    held = hold_order(orders.signed(), orders.NURSE_CY, "blood pressure", orders.NOW + timedelta(hours=1))
    loaded = OrderWithSeries.from_dict(as_plain_names(held.to_dict()))
    assert [change.changed_by for change in loaded.order.history] == [
        Person(None, "Dr Ada Prescriber"), Person(None, "Dr Ada Prescriber"), Person(None, "Nurse Cy")]
    message = parse_message(order_event_message(loaded, orders.settings(), SOURCE))
    assert message.first("Provenance")["agent"][0]["who"] == {"display": "Nurse Cy"}  # as it was recorded then
    stopped = _course_changes()[-1][1]
    old_course = TreatmentCourse.from_dict(as_plain_names(stopped.to_dict()))
    assert old_course.transitions[-1].by == Person(None, course.CLINICIAN.display)
    assert old_course.stop is not None and old_course.stop.stopped_by == Person(None, course.CLINICIAN.display)
