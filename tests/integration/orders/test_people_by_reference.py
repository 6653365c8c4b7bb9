"""Who is recorded on an order and a treatment course is the signed-in clinician, by reference, whatever the body
names: the orders app (with the course) as ``bootstrap.build`` wires it, SMART on, the clinicians real
Practitioners in the EHR sandbox (``shared/people.py``, ``shared.roles.acting_person``)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from deploy.ehr_sandbox.seed import MRN_SYSTEM
from services.orders.bootstrap import build
from services.orders.course.domain.model import TreatmentCourse
from services.orders.course.repository import CourseRepository
from services.orders.domain.eligibility import EligibilityDecision, EligibilityStatus
from services.orders.repository import OrdersRepository
from shared.people import Person
from shared.runtime import ServiceRuntime
from shared.ui.clinician import fhir_user_reference
from tests.support.practitioners import prescriber, registered_nurse
from tests.support.smart_sessions import signed_in
from tests.support.in_process import smart_service_runtime

pytestmark = pytest.mark.integration
SCOPE = "launch openid fhirUser patient/*.rs user/*.cruds"
JSON = {"Accept": "application/fhir+json"}
SOMEONE_ELSE = "Dr. Somebody Else"


@pytest.fixture
def stack(tmp_path, monkeypatch, ehr):
    monkeypatch.setenv("ORDERS_COURSE_ALERT_SEND_WAIT_S", "0")  # no broker here: an alert stays in the outbox
    runtime = smart_service_runtime("orders", tmp_path, monkeypatch, ehr)
    app, _handlers, _responses = build(runtime)
    patient_id = ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|KL-1001"})[0]["id"]
    with runtime.engine.begin() as conn:
        OrdersRepository().save_eligibility(conn, EligibilityDecision(
            patient_id, "intake-1", EligibilityStatus.ELIGIBLE, True, datetime.now(timezone.utc)))
    return app, patient_id, runtime


def _who(person: dict) -> tuple[str | None, str]:
    return person["reference"], person["display"]


def _person(person: Person | None) -> tuple[str | None, str] | None:
    return None if person is None else (person.reference, person.display)


def _course(runtime: ServiceRuntime, course_id: str) -> TreatmentCourse:
    with runtime.engine.connect() as conn:
        return CourseRepository().get(conn, course_id).course


def test_orders_and_course_acts_record_the_signed_in_clinician_whatever_the_body_names(stack, ehr):
    app, patient_id, runtime = stack
    nurse, doctor = registered_nurse(ehr.client), prescriber(ehr.client)
    as_nurse = signed_in(app, patient_id, fhir_user=nurse.fhir_user, scope=SCOPE, cookie="people-nurse",
                         iss=ehr.base_url)
    as_doctor = signed_in(app, patient_id, fhir_user=doctor.fhir_user, scope=SCOPE, cookie="people-doctor",
                          iss=ehr.base_url)
    the_nurse = (fhir_user_reference(nurse.fhir_user), nurse.name)
    the_doctor = (fhir_user_reference(doctor.fhir_user), doctor.name)

    today = datetime.now(timezone.utc).date().isoformat()
    created = as_doctor.post("/orders", json={"patient_id": patient_id, "start_date": today,
                                              "created_by": SOMEONE_ELSE}, headers=JSON)
    assert created.status_code == 201, created.get_data(as_text=True)
    order_id = created.get_json()["order_id"]
    assert _who(created.get_json()["created_by"]) == the_doctor
    signed = as_doctor.post(f"/orders/{order_id}/sign", json={"signed_by": nurse.name, "attested": True},
                            headers=JSON)
    assert signed.status_code == 200, signed.get_data(as_text=True)
    assert _who(signed.get_json()["signed_by"]) == the_doctor
    held = as_nurse.post(f"/orders/{order_id}/hold", json={"by": doctor.name, "reason": "BP 170/100"}, headers=JSON)
    assert held.status_code == 200, held.get_data(as_text=True)
    assert _who(held.get_json()["history"][-1]["changed_by"]) == the_nurse
    for_another = as_nurse.post(f"/orders/{order_id}/cancel", json={
        "reason": "declined", "on_behalf_of": fhir_user_reference(doctor.fhir_user)}, headers=JSON)
    assert for_another.status_code == 403  # a clinician's session acts for that clinician only
    resumed = as_doctor.post(f"/orders/{order_id}/resume", json={"by": SOMEONE_ELSE}, headers=JSON)
    assert _who(resumed.get_json()["history"][-1]["changed_by"]) == the_doctor

    course_id = as_nurse.get(f"/patients/{patient_id}/course", headers=JSON).get_json()["course_id"]
    scored = as_nurse.post(f"/courses/{course_id}/scores", json={
        "scale": "phq-9", "items": [2, 2, 2, 2, 2, 2, 2, 2, 1], "context": "follow-up",
        "recorded_by": SOMEONE_ELSE}, headers=JSON)
    assert scored.status_code == 201, scored.get_data(as_text=True)
    assert _person(_course(runtime, course_id).scores[-1].recorded_by) == the_nurse
    [alert] = as_nurse.get(f"/courses/{course_id}", headers=JSON).get_json()["alerts"]
    acknowledged = as_doctor.post(f"/courses/{course_id}/alerts/{alert['alert_id']}/acknowledge", json={
        "by": nurse.name, "action_taken": "called; safety plan reviewed"}, headers=JSON)
    assert acknowledged.status_code == 200, acknowledged.get_data(as_text=True)
    course = as_nurse.get(f"/courses/{course_id}", headers=JSON).get_json()
    assert _who(course["alerts"][0]["acknowledged_by"]) == the_doctor
    stopped = as_doctor.post(f"/courses/{course_id}/decisions", json={
        "decision": "stop", "stop_reason": "patient-choice", "by": SOMEONE_ELSE}, headers=JSON)
    assert stopped.status_code == 200, stopped.get_data(as_text=True)
    assert _person(_course(runtime, course_id).transitions[-1].by) == the_doctor
    cancelled = as_nurse.post(f"/orders/{order_id}/cancel", json={"by": doctor.name, "reason": "patient declined"},
                              headers=JSON)
    assert cancelled.status_code == 200, cancelled.get_data(as_text=True)
    assert _who(cancelled.get_json()["history"][-1]["changed_by"]) == the_nurse
