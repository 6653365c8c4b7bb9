"""The course CarePlan out and back: status and stop reason, infusions with doses, therapy sessions, referrals,
goal, series and progress notes."""
import copy
from datetime import timedelta

import pytest

from services.orders.course.domain.course import start_maintenance, stop_course
from services.orders.course.domain.model import StopReason
from services.orders.course.domain.plan import course_plan
from services.orders.course.domain.psychotherapy import record_attendance, refer, schedule_session
from services.orders.course.domain.therapy import Attendance, TherapyKind
from services.orders.course.translators.care_plan_course_in import plan_from_care_plan
from services.orders.course.translators.care_plan_course_out import care_plan_from_course
from shared.errors import FhirMappingError
from shared.people import ketalink

from tests.unit.orders.course.builders import CLINICIAN, PATIENT, give, infusion_time, new_course, protocol, settings

DAY, HOUR = timedelta(days=1), timedelta(hours=1)


def full_course():
    course = give(new_course(), range(1, 7), phq9_totals={1: 20, 6: 8})
    course = refer(course, "ref-1", TherapyKind.INTEGRATION, CLINICIAN, infusion_time(1), "integration")
    course = refer(course, "ref-2", TherapyKind.PSYCHOTHERAPY, CLINICIAN, infusion_time(2), "weekly CBT",
                   performer="Dr Therapist", sessions_requested=12)
    for number, attendance in ((1, Attendance.ATTENDED), (2, Attendance.MISSED), (3, Attendance.CANCELLED),
                               (4, None)):
        course = schedule_session(course, f"ts-{number}", "ref-1", infusion_time(number) + 30 * HOUR, settings(),
                                  after_infusion_number=number)
        if attendance:
            course = record_attendance(course, f"ts-{number}", attendance, CLINICIAN, infusion_time(number) + 32 * HOUR)
    return start_maintenance(course, 28, CLINICIAN, infusion_time(6) + 7 * DAY, settings(), protocol())


def test_the_course_care_plan_has_its_shape():
    resource = care_plan_from_course(full_course())
    assert resource["identifier"] == [{"system": "https://ketalink.example.org/fhir/identifier/course",
                                       "value": "course-1"}]
    assert (resource["status"], resource["intent"], resource["subject"]) == (
        "active", "plan", {"reference": f"Patient/{PATIENT}"})
    assert [c["coding"][0]["code"] for c in resource["category"]] == ["ketamine-treatment-course",
                                                                      "course-status-maintenance"]
    assert resource["goal"][0]["identifier"]["value"] == "course-1-remission"
    assert resource["supportingInfo"][0]["identifier"]["value"] == "series-1"
    activities = resource["activity"]
    assert [a["reference"]["identifier"]["value"] for a in activities[:2]] == ["ref-1", "ref-2"]
    first_infusion = activities[2]
    assert first_infusion["outcomeReference"][0]["identifier"] == {
        "system": "https://ketalink.example.org/fhir/identifier/infusion", "value": "session-1"}
    detail = first_infusion["detail"]
    assert (detail["kind"], detail["status"], detail["scheduledPeriod"]) == (
        "MedicationRequest", "completed", {"start": "2026-11-23T09:00:00+00:00"})
    assert detail["dailyAmount"]["value"] == 40.0 and detail["quantity"]["code"] == "mg/kg"
    assert [c["code"] for c in detail["code"]["coding"]] == ["ketamine-infusion", "induction-infusion"]
    sessions = activities[8:]
    assert [(s["id"], s["detail"]["status"]) for s in sessions] == [
        ("therapy-session-ts-1", "completed"), ("therapy-session-ts-2", "cancelled"),
        ("therapy-session-ts-3", "cancelled"), ("therapy-session-ts-4", "scheduled")]
    assert sessions[1]["detail"]["statusReason"]["coding"][0]["code"] == "did-not-attend"
    assert [n["authorReference"] for n in resource["note"]] == [  # by reference, Ketalink as its Device
        CLINICIAN.fhir_reference(), ketalink("Ketalink").fhir_reference(), CLINICIAN.fhir_reference()]
    assert resource["note"][-1]["text"].startswith("Maintenance every 28 days")


def test_round_trip():
    course = full_course()
    assert plan_from_care_plan(care_plan_from_course(course)) == course_plan(course)


@pytest.mark.parametrize("reason, status", [(StopReason.GOALS_MET, "completed"),
                                            (StopReason.ADVERSE_EVENT, "revoked")])
def test_a_stopped_course(reason, status):
    course = stop_course(full_course(), reason, CLINICIAN, infusion_time(6) + 30 * DAY, "see note")
    resource = care_plan_from_course(course)
    assert resource["status"] == status
    assert resource["category"][2]["coding"][0]["code"] == f"course-stop-{reason.value}"
    assert resource["period"]["end"] == "2027-01-09T09:00:00+00:00"
    assert plan_from_care_plan(resource) == course_plan(course)


def test_a_new_course_without_activities():
    course = new_course()
    resource = care_plan_from_course(course)
    assert "activity" not in resource
    assert plan_from_care_plan(resource) == course_plan(course)


@pytest.mark.parametrize("change, field", [
    (lambda r: r.pop("identifier"), "CarePlan.identifier"),
    (lambda r: r["category"].pop(1), "CarePlan.category"),
    (lambda r: r["activity"][2].pop("outcomeReference"), "CarePlan.activity[2].outcomeReference"),
    (lambda r: r["activity"][2]["detail"]["dailyAmount"].update(code="mL", unit="mL"), "CarePlan.activity[2].detail"),
    (lambda r: r["activity"][8].pop("id"), "CarePlan.activity[8].id"),
    (lambda r: r["activity"][8]["detail"].update(status="in-progress"), "CarePlan.activity[8].detail.status"),
])
def test_what_cannot_be_read(change, field):
    resource = copy.deepcopy(care_plan_from_course(full_course()))
    change(resource)
    with pytest.raises(FhirMappingError) as error:
        plan_from_care_plan(resource)
    assert error.value.field == field
