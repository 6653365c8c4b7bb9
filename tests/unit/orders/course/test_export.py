"""The de-identified outcomes export (CSV and FHIR Bundle): one row per course, and a scan proving that no name, birth
date, MRN, patient/course/session/order id or exact date of care appears in it."""
import csv
import io
import json
import re
from dataclasses import replace
from datetime import date, timedelta

import pytest

from services.orders.course.domain.course import (
    record_adverse_event,
    record_score,
    start_maintenance,
    stop_course,
)
from services.orders.course.domain.export import CSV_COLUMNS, ExportSubject, age_band, export_rows, outcomes_csv
from services.orders.course.domain.measurements import ScoreContext
from services.orders.course.domain.model import AdverseEventSeverity, CourseAdverseEvent, StopReason
from services.orders.course.domain.psychotherapy import record_attendance, refer, schedule_session
from services.orders.course.domain.therapy import Attendance, TherapyKind
from services.orders.course.translators.outcomes_bundle_out import outcomes_bundle
from shared.fhir.validate import validate_resource

from tests.unit.orders.course.builders import CLINICIAN, START, give, infusion_time, new_course, phq9, protocol, \
    settings

DAY = timedelta(days=1)
# The patients as the EHR knows them: none of this may leave in the export.
PATIENTS = {
    "patient-1": {"name": "Ada Quillfeather", "mrn": "KL-1001", "birth_date": date(1961, 5, 17)},
    "patient-2": {"name": "Bo Marchetti", "mrn": "KL-1002", "birth_date": date(1936, 2, 29)},
    "patient-3": {"name": "Cy Okonkwo", "mrn": "KL-1003", "birth_date": None},
}


def courses():
    first = give(new_course(), range(1, 7), phq9_totals={1: 21, 2: 18, 4: 12, 6: 9})
    first = record_adverse_event(first, CourseAdverseEvent("ae-77", "session-3", "emergence-reaction",
                                                           AdverseEventSeverity.SEVERE, infusion_time(3), serious=True))
    first = start_maintenance(first, 28, CLINICIAN, infusion_time(6) + 7 * DAY, settings(), protocol())
    first = refer(first, "ref-9", TherapyKind.INTEGRATION, CLINICIAN, infusion_time(6), "integration")
    first = schedule_session(first, "ts-9", "ref-9", infusion_time(6) + timedelta(hours=30), settings(),
                             after_infusion_number=6)
    first = record_attendance(first, "ts-9", Attendance.ATTENDED, CLINICIAN, infusion_time(6) + 2 * DAY)
    second = replace(give(new_course(), range(1, 7), phq9_totals={1: 18, 6: 15}), course_id="course-2",
                     patient_id="patient-2")
    second = stop_course(second, StopReason.NON_RESPONSE, CLINICIAN, infusion_time(6) + 7 * DAY,
                         "Bo Marchetti asked to stop; MRN KL-1002")  # free text that must not leave
    third = replace(record_score(new_course(), phq9("b", 4, START - DAY, ScoreContext.BASELINE), settings(),
                                 protocol()), course_id="course-3", patient_id="patient-3",
                    started_at=START + 40 * DAY)
    return [first, second, third]


def subjects():
    return [ExportSubject(course, PATIENTS[course.patient_id]["birth_date"]) for course in courses()]


def test_one_row_per_course_with_its_outcome():
    rows = export_rows(subjects(), settings(), protocol())
    assert [r.row_key for r in rows] == ["C0001", "C0002", "C0003"]
    first, second, third = rows
    assert (first.age_band, first.start_year, first.course_status) == ("60-69", 2026, "maintenance")
    assert (first.baseline_score, first.best_score, first.last_score, first.last_drop_pct) == (21, 9, 9, 57.1)
    assert (first.response, first.remission, first.remission_rule) == ("response", "no-remission", "PHQ-9 < 5")
    assert (first.ever_responded, first.lost_response, first.relapsed_after_remission,
            first.first_response_after_infusions) == (True, False, False, 5)
    assert (first.infusions, first.induction_infusions, first.maintenance_infusions) == (6, 6, 0)
    assert (first.adverse_events, first.serious_adverse_events, first.integration_sessions_attended) == (1, 1, 1)
    assert (second.age_band, second.course_status, second.stop_reason, second.response) == (
        "90+", "stopped", "non-response", "no-response")
    assert (third.age_band, third.baseline_score, third.last_score, third.response) == (
        "unknown", 4, None, "undetermined")


def test_the_csv_has_a_header_and_empty_cells_for_missing_values():
    text = outcomes_csv(export_rows(subjects(), settings(), protocol()))
    table = list(csv.DictReader(io.StringIO(text)))
    assert tuple(table[0]) == CSV_COLUMNS and len(table) == 3
    assert table[0]["ever_responded"] == "true" and table[0]["last_drop_pct"] == "57.1"
    assert table[2]["last_score"] == "" and table[2]["first_response_after_infusions"] == ""


@pytest.mark.parametrize("birth, on, band", [
    (date(1990, 6, 2), date(2026, 6, 1), "30-39"),  # 35
    (date(1937, 6, 2), date(2026, 6, 1), "80-89"),  # 88
    (date(1937, 6, 1), date(2026, 6, 1), "80-89"),  # 89 on the day
    (date(1936, 6, 1), date(2026, 6, 1), "90+"),  # 90
    (date(2008, 6, 2), date(2026, 6, 1), "10-19"),  # 17
    (None, date(2026, 6, 1), "unknown"),
])
def test_age_bands(birth, on, band):
    assert age_band(birth, on, settings()) == band


def test_wider_bands_stop_at_the_top_band():
    five = settings(export_age_band_years=5, export_top_age_band_years=85)
    assert age_band(date(1943, 1, 1), date(2026, 6, 1), five) == "80-84"
    assert age_band(date(1940, 1, 1), date(2026, 6, 1), five) == "85+"


def test_the_bundle_is_a_valid_collection_with_a_summary_and_one_observation_per_course():
    rows = export_rows(subjects(), settings(), protocol())
    bundle = outcomes_bundle(rows, "export-2027-q1", START + 100 * DAY)
    assert validate_resource(bundle) is bundle and bundle["type"] == "collection"
    report, *observations = [entry["resource"] for entry in bundle["entry"]]
    assert report["resourceType"] == "MeasureReport" and report["type"] == "summary"
    response, remission = report["group"]
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in response["population"]}
    assert counts == {"initial-population": 3, "denominator": 2, "numerator": 1}
    assert response["measureScore"]["value"] == 0.5
    assert {p["code"]["coding"][0]["code"]: p["count"] for p in remission["population"]}["numerator"] == 0
    assert len(observations) == 3 and all("subject" not in o for o in observations)
    components = {c["code"]["coding"][0]["code"]: c for c in observations[0]["component"]}
    assert components["outcome-baseline-score"]["valueQuantity"]["value"] == 21
    assert components["outcome-response"]["valueCodeableConcept"]["coding"][0]["code"] == "response-response"
    assert components["outcome-age-band"]["valueString"] == "60-69"
    assert components["outcome-ever-responded"]["valueBoolean"] is True
    assert components["outcome-infusions"]["valueInteger"] == 6
    assert all(entry["fullUrl"].startswith("urn:uuid:") for entry in bundle["entry"])


def test_the_export_carries_no_identifiers_names_birth_dates_or_dates_of_care():
    all_courses = courses()
    rows = export_rows([ExportSubject(c, PATIENTS[c.patient_id]["birth_date"]) for c in all_courses], settings(),
                       protocol())
    exported = outcomes_csv(rows) + json.dumps(outcomes_bundle(rows, "export-2027-q1", START + 100 * DAY))
    forbidden = set()
    for patient_id, patient in PATIENTS.items():
        forbidden |= {patient_id, patient["mrn"], *patient["name"].split()}
        if patient["birth_date"]:
            birth = patient["birth_date"]
            forbidden |= {birth.isoformat(), birth.strftime("%m/%d/%Y"), birth.strftime("%Y%m%d"), str(birth.year)}
    for course in all_courses:
        forbidden.add(course.course_id)
        forbidden |= {i.session_id for i in course.infusions} | {i.order_id for i in course.infusions if i.order_id}
        forbidden |= set(course.series_ids) | {s.measurement_id for s in course.scores}
        forbidden |= {e.event_id for e in course.adverse_events} | {r.referral_id for r in course.referrals}
        forbidden |= {s.session_id for s in course.therapy_sessions}
        moments = [course.started_at] + [i.given_at for i in course.infusions] + [s.measured_at for s in course.scores]
        forbidden |= {m.date().isoformat() for m in moments}
    found = sorted(term for term in forbidden if re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-])", exported))
    assert found == []
    assert "KL-" not in exported and "Patient/" not in exported and CLINICIAN.display not in exported
    assert CLINICIAN.reference not in exported  # a Practitioner reference identifies a clinician too


def test_an_export_of_no_courses_is_still_valid():
    bundle = outcomes_bundle((), "empty", START)
    assert len(bundle["entry"]) == 1 and "measureScore" not in bundle["entry"][0]["resource"]["group"][0]
    assert outcomes_csv(()) == ",".join(CSV_COLUMNS) + "\n"
