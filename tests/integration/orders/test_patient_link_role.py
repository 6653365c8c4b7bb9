"""Who may make a patient's questionnaire link (HZ-178): a clinical role from the EHR, not the chart's scopes alone.
The orders app (with the course) as ``bootstrap.build`` wires it, SMART on, the users real Practitioners with their
PractitionerRole in the EHR sandbox: IT support (HL7 practitioner-role ``ict``) launched into the patient's chart has
every scope the link needs and is refused, on the API (403 OperationOutcome) and on the questionnaires screen (403
page), with no link stored; a registered nurse makes one on both (201, 200)."""
from __future__ import annotations

import re
from datetime import datetime, time, timezone

import pytest
from sqlalchemy import func, select

from services.orders.bootstrap import build
from services.orders.course.domain.course import start_course
from services.orders.course.repository import CourseRepository
from shared.db import patient_links
from shared.runtime import ServiceRuntime
from tests.integration.orders.support import patient_of_its_own
from tests.support.clinic_zone import clinic_today
from tests.support.in_process import smart_service_runtime
from tests.support.practitioners import clinician, registered_nurse
from tests.support.smart_sessions import signed_in
from tests.unit.orders.course.builders import CLINICIAN, protocol, settings

pytestmark = pytest.mark.integration
#: What an EHR launch from the patient's chart grants the orders app by default (shared/smart/settings.py)
SCOPE = "launch openid fhirUser patient/*.cruds user/Practitioner.rs user/PractitionerRole.rs"
JSON = {"Accept": "application/fhir+json"}
HTML = {"Accept": "text/html"}
FROM_THE_PAGE = HTML | {"Origin": "http://localhost"}  # the screen's own form, as the browser sends it
IT_SUPPORT = (("http://terminology.hl7.org/CodeSystem/practitioner-role", "ict", "ICT professional"),)


@pytest.fixture
def stack(tmp_path, monkeypatch, ehr):
    runtime = smart_service_runtime("orders", tmp_path, monkeypatch, ehr)
    app, _handlers, _responses = build(runtime)
    patient_id = patient_of_its_own(ehr.client)
    course_id = f"course-link-role-{clinic_today().isoformat()}"
    started_at = datetime.combine(clinic_today(), time(9), tzinfo=timezone.utc)
    with runtime.engine.begin() as conn:
        CourseRepository().add(conn, start_course(course_id, patient_id, started_at, CLINICIAN, settings(),
                                                  protocol(), series_id="series-link-role"))
    return app, runtime, patient_id, course_id


def _links(runtime: ServiceRuntime, course_id: str) -> int:
    with runtime.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(patient_links)
                            .where(patient_links.c.course_id == course_id)).scalar_one()


def _csrf(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([0-9a-f]+)"', page).group(1).decode()


def test_it_support_in_the_chart_is_refused_a_link_on_the_api_and_the_screen_and_nothing_is_stored(stack, ehr):
    app, runtime, patient_id, course_id = stack
    support = clinician(ehr.client, "ict-link-role-test", "Sam Support", IT_SUPPORT)
    as_support = signed_in(app, patient_id, fhir_user=support.fhir_user, scope=SCOPE, iss=ehr.base_url)

    refused = as_support.post(f"/courses/{course_id}/patient-links", json={"scale": "phq-9"}, headers=JSON)
    assert refused.status_code == 403, refused.get_data(as_text=True)
    outcome = refused.get_json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "forbidden"
    assert "ORDERS_COURSE_PATIENT_LINK_ROLE_CODES" in outcome["issue"][0]["diagnostics"]
    assert "ICT professional" in outcome["issue"][0]["diagnostics"]  # the role the EHR gave, named

    screen = as_support.get("/ui/course/questionnaires", headers=HTML)
    assert screen.status_code == 200, screen.get_data(as_text=True)  # reading what is due is not refused
    assert b'data-testid="create-link-form"' not in screen.data  # no form offered, and it says why
    assert b'data-testid="no-link-role"' in screen.data and b"ICT professional" in screen.data
    form_token = _csrf(as_support.get("/ui/course", headers=HTML).data)  # the session's own (the course page's)
    posted = as_support.post(f"/ui/course/{course_id}/patient-links",
                             data={"csrf_token": form_token, "scale": "phq-9"}, headers=FROM_THE_PAGE)
    assert posted.status_code == 403 and "Clinical role needed" in posted.get_data(as_text=True)
    assert "/q/" not in posted.get_data(as_text=True)
    assert _links(runtime, course_id) == 0


def test_a_registered_nurse_makes_a_link_on_the_api_and_the_screen(stack, ehr):
    app, runtime, patient_id, course_id = stack
    nurse = registered_nurse(ehr.client)
    as_nurse = signed_in(app, patient_id, fhir_user=nurse.fhir_user, scope=SCOPE, iss=ehr.base_url)

    made = as_nurse.post(f"/courses/{course_id}/patient-links", json={"scale": "phq-9"}, headers=JSON)
    assert made.status_code == 201, made.get_data(as_text=True)
    assert "/q/" in made.get_json()["url"] and made.get_json()["state"] == "open"

    screen = as_nurse.get("/ui/course/questionnaires", headers=HTML)
    assert b'data-testid="create-link-form"' in screen.data and b'data-testid="no-link-role"' not in screen.data
    posted = as_nurse.post(f"/ui/course/{course_id}/patient-links",
                           data={"csrf_token": _csrf(screen.data), "scale": "phq-9"}, headers=FROM_THE_PAGE)
    assert posted.status_code == 200, posted.get_data(as_text=True)
    assert "/q/" in posted.get_data(as_text=True)
    assert _links(runtime, course_id) == 2
