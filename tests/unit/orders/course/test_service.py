"""The course's service layer against a real SQLite store (no broker: messages stay in the outbox, where the test
reads them): the course starts in the sign's transaction with the intake's baseline, documentation's
``session-completed`` records the infusion once and marks the series' infusion, and a redelivered or re-sent
message changes nothing."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from services.documentation.domain import session as documentation_session
from services.documentation.domain.adverse_events import AdverseEventKind, AdverseEventOutcome, AdverseEventRecord, \
    Severity
from services.documentation.translators.message_out import session_completed_focus
from services.intake.domain.scales import Phq9Response
from services.intake.translators.questionnaire_response_scales_out import phq9_questionnaire_response
from services.orders.course.commands import Decide, DecisionKind, RecordScore
from services.orders.course.domain.errors import CourseInputError, CourseStateError
from services.orders.course.domain.measurements import ScoreContext, ScoreSource
from services.orders.course.domain.settings import CourseSettings
from services.orders.course.handlers import CourseService
from services.orders.course.repository import CourseNotFoundError
from services.orders.domain.dose import calculate_dose
from services.orders.domain.eligibility import EligibilityDecision, EligibilityStatus
from services.orders.domain.lifecycle import create_order, sign_order
from services.orders.domain.measurements import BodyWeight
from services.orders.domain.series import plan_induction
from services.orders.domain.settings import ProtocolSettings
from services.orders.repository import OrdersRepository
from shared.db import outbox
from shared.events.consumer import MessageProcessor, PermanentError
from shared.events.kafka_clients import KafkaSettings
from shared.fhir.datatypes import codeable_concept, identifier, instant, reference
from shared.fhir.messaging import build_message, parse_message
from shared.runtime import ServiceRuntime, ServiceSettings
from shared.scales import Scale
from services.orders.translators.codes import KETAMINE_ELIGIBILITY
from shared.fhir.codes import KETALINK_LOCAL
from tests.unit.documentation import builders as doc
from tests.unit.orders.course.builders import session_completed_handler
from tests.unit.orders.builders import PRESCRIBER
from shared.people import Person

PATIENT = "pat-42"
SIGNED_AT = datetime(2026, 2, 27, 15, 0, tzinfo=timezone.utc)
NOW = datetime(2026, 3, 3, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def runtime(tmp_path) -> ServiceRuntime:
    return ServiceRuntime("orders", ServiceSettings(database_url=f"sqlite:///{tmp_path / 'orders.db'}"),
                          KafkaSettings())


@pytest.fixture
def course_service(runtime) -> CourseService:
    return CourseService(runtime, CourseSettings(), ProtocolSettings(), clock=lambda: NOW)


@pytest.fixture
def signed(runtime):
    """An induction order of 6 signed on 27 Feb, its series from 2 Mar (as the orders service stores it)."""
    protocol = ProtocolSettings()
    weight = BodyWeight(80.0, SIGNED_AT - timedelta(days=2), "wt-1")
    eligibility = EligibilityDecision(PATIENT, "intake-1", EligibilityStatus.ELIGIBLE, True, SIGNED_AT)
    series = plan_induction(PATIENT, date(2026, 3, 2), protocol, now=SIGNED_AT)
    draft = create_order(PATIENT, eligibility, calculate_dose(weight, None, None, protocol, now=SIGNED_AT), series,
                         PRESCRIBER, protocol, now=SIGNED_AT, order_id="ord-1")
    placed = sign_order(draft, eligibility, PRESCRIBER, protocol, now=SIGNED_AT)
    with runtime.transaction() as conn:
        OrdersRepository().add_order(conn, placed)
    return placed


def _published(runtime) -> list[tuple[str, dict]]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.event_code, outbox.c.payload).order_by(outbox.c.id)).all()
    return [(row.event_code, json.loads(row.payload)) for row in rows]


def _eligibility_with_baseline(phq9_total: int) -> dict:
    decided = SIGNED_AT - timedelta(days=3)
    risk = {"resourceType": "RiskAssessment", "identifier": [identifier("eligibility", "intake-1")],
            "status": "final", "subject": reference("Patient", PATIENT),
            "code": codeable_concept(KETAMINE_ELIGIBILITY), "occurrenceDateTime": instant(decided),
            "prediction": [{"outcome": {"coding": [{"system": KETALINK_LOCAL, "code": "eligible"}]}}]}
    items = [3, 3, 3, 3, 3, 3, 2, 0, 0][:9]
    assert sum(items) == phq9_total
    baseline = phq9_questionnaire_response(Phq9Response(tuple(items), decided - timedelta(hours=1)), PATIENT,
                                           "intake-1")
    screening = {"resourceType": "QuestionnaireResponse", "status": "completed", "subject": reference("Patient",
                                                                                                     PATIENT),
                 "questionnaire": "https://ketalink.example.org/fhir/Questionnaire/ketamine-intake-screening"}
    return build_message("intake-eligibility-decided", "urn:ketalink:intake", [risk, baseline, screening])


def _session_completed(session, order) -> dict:
    return build_message("session-completed", "urn:ketalink:documentation", session_completed_focus(session, order))


def _start(runtime, course_service, signed):
    with runtime.transaction() as conn:
        course_service.on_order_event(conn, signed, "order-signed")


def test_the_course_starts_in_the_signs_transaction_with_the_intakes_baseline(runtime, course_service, signed):
    processor = MessageProcessor(runtime.engine, {"intake-eligibility-decided": course_service.on_intake_baseline})
    assert processor.process("ketalink.intake.events", json.dumps(_eligibility_with_baseline(20)).encode()) == "done"
    _start(runtime, course_service, signed)

    change = course_service.patient_course(PATIENT)
    course = change.course
    assert course.status.value == "induction" and course.induction_infusions_planned == 6
    assert course.series_ids == (signed.series.series_id,) and course.started_at == SIGNED_AT
    [baseline] = course.scores
    assert (baseline.measurement_id, baseline.total_score, baseline.source) == ("intake-1-phq-9", 20,
                                                                                 ScoreSource.INTAKE)
    assert change.summary.outcome.baseline.total == 20
    assert [code for code, _ in _published(runtime)] == ["course-changed", "score-recorded"]

    # The same series signed again (a redelivered CPOE acceptance) and another one: linked, never a second course.
    _start(runtime, course_service, signed)
    with runtime.transaction() as conn:
        assert len(course_service._repo.for_patient(conn, PATIENT)) == 1


def test_a_completed_session_records_the_infusion_once_and_marks_the_series(runtime, course_service, signed):
    _start(runtime, course_service, signed)
    order = doc.make_order(order_id="ord-1", series_id=signed.series.series_id, patient_id=PATIENT)
    event = AdverseEventRecord("ae-1", AdverseEventKind.NAUSEA, Severity.MILD, AdverseEventOutcome.RESOLVED,
                               doc.at(9, 30), doc.NURSE)
    session = documentation_session.record_adverse_event(doc.ready_for_discharge(order), event)
    session = documentation_session.discharge(session, doc.assessment(), doc.SETTINGS, doc.NURSE, doc.at(10, 25))
    message = _session_completed(session, order)
    handler = session_completed_handler(runtime, course_service, lambda: NOW)
    processor = MessageProcessor(runtime.engine, {"session-completed": handler})

    assert processor.process("ketalink.documentation.events", json.dumps(message).encode()) == "done"
    assert processor.process("ketalink.documentation.events", json.dumps(message).encode()) == "duplicate"
    resent = _session_completed(session, order)  # documentation sends the same session again (another message id)
    assert processor.process("ketalink.documentation.events", json.dumps(resent).encode()) == "done"

    course = course_service.patient_course(PATIENT).course
    [infusion] = course.infusions
    assert (infusion.number, infusion.session_id, infusion.order_id) == (1, "ord-1-1", "ord-1")
    assert infusion.given_at == doc.at(9, 10) and infusion.dose_mg == pytest.approx(40.0)
    assert infusion.dose_mg_per_kg == pytest.approx(0.5) and not infusion.stopped_early
    [adverse] = course.adverse_events
    assert (adverse.event_id, adverse.kind, adverse.severity.value, adverse.serious) == ("ord-1-1/ae-1", "nausea",
                                                                                         "mild", False)
    with runtime.engine.connect() as conn:
        series = OrdersRepository().get_order(conn, "ord-1").current.series
    assert [i.status.value for i in series.infusions] == ["completed"] + ["scheduled"] * 5
    codes = [code for code, _ in _published(runtime)]
    assert codes == ["course-changed", "course-changed", "order-changed"]  # start; infusion; series marked
    order_changed = parse_message(_published(runtime)[-1][1])
    activities = order_changed.first("CarePlan")["activity"]
    assert [a["detail"]["status"] for a in activities] == ["completed"] + ["scheduled"] * 5


def test_a_session_that_never_began_cancels_its_series_infusion_and_adds_none(runtime, course_service, signed):
    _start(runtime, course_service, signed)
    order = doc.make_order(order_id="ord-1", series_id=signed.series.series_id, patient_id=PATIENT)
    handler = session_completed_handler(runtime, course_service, lambda: NOW)
    processor = MessageProcessor(runtime.engine, {"session-completed": handler})
    first = _session_completed(doc.discharged(order), order)
    assert processor.process("ketalink.documentation.events", json.dumps(first).encode()) == "done"
    second = documentation_session.create_session(order, 2)
    second = documentation_session.check_in(second, order, doc.NURSE, doc.at(9, 0, day=5))
    deferred = documentation_session.defer(second, "BP 182/112 twice", doc.NURSE, doc.at(9, 20, day=5))
    assert processor.process("ketalink.documentation.events",
                             json.dumps(_session_completed(deferred, order)).encode()) == "done"

    assert len(course_service.patient_course(PATIENT).course.infusions) == 1
    with runtime.engine.connect() as conn:
        series = OrdersRepository().get_order(conn, "ord-1").current.series
    assert [i.status.value for i in series.infusions[:3]] == ["completed", "cancelled", "scheduled"]


def test_a_session_of_a_patient_without_a_course_is_not_an_error(runtime, course_service):
    order = doc.make_order(order_id="ord-9", patient_id="someone-else")
    handler = session_completed_handler(runtime, course_service, lambda: NOW)
    processor = MessageProcessor(runtime.engine, {"session-completed": handler})
    message = _session_completed(doc.discharged(order), order)
    assert processor.process("ketalink.documentation.events", json.dumps(message).encode()) == "done"
    assert _published(runtime) == []


def test_http_steps_refuse_bad_input_and_steps_the_status_does_not_allow(runtime, course_service, signed):
    _start(runtime, course_service, signed)
    course_id = course_service.patient_course(PATIENT).course.course_id
    with pytest.raises(CourseInputError) as bad:
        course_service.record_score(course_id, RecordScore(Scale.PHQ9, (1,) * 8 + (5,), ScoreContext.FOLLOW_UP,
                                                           ScoreSource.CLINICIAN))
    assert bad.value.field == "score.items[8]"
    with pytest.raises(CourseInputError) as future:
        course_service.record_score(course_id, RecordScore(Scale.PHQ9, (1,) * 9, ScoreContext.FOLLOW_UP,
                                                           ScoreSource.CLINICIAN,
                                                           measured_at=NOW + timedelta(hours=1)))
    assert future.value.field == "measured_at"
    with pytest.raises(CourseStateError):
        course_service.decide(course_id, Decide(DecisionKind.MAINTENANCE, Person("Practitioner/dr-a", "Dr A"), interval_days=28))
    with pytest.raises(CourseInputError) as missing:
        course_service.decide(course_id, Decide(DecisionKind.EXTEND, Person("Practitioner/dr-a", "Dr A"), reason="late responder"))
    assert missing.value.field == "total_infusions"
    with pytest.raises(CourseNotFoundError):
        course_service.course("no-such-course")
    with pytest.raises(CourseNotFoundError):
        course_service.patient_course("nobody")


def _ehr_questionnaire_message(resource: dict) -> bytes:
    return json.dumps(build_message("questionnaire-response-received", "urn:ehr-sandbox:interface-engine",
                                    [resource], with_provenance=False)).encode()


def _ehr_phq9(total: int, item9: int, qr_id: str = "qr-ehr-7") -> dict:
    items = [min(3, max(0, total - item9 - 3 * k)) for k in range(8)] + [item9]
    codes = ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"]
    return {"resourceType": "QuestionnaireResponse", "id": qr_id, "status": "completed",
            "questionnaire": "http://loinc.org/q/44249-1", "subject": reference("Patient", PATIENT),
            "authored": instant(NOW - timedelta(hours=2)),
            "item": [{"linkId": code, "answer": [{"valueInteger": value}]} for code, value in zip(codes, items)]}


def test_an_ehr_questionnaire_response_is_recorded_like_a_clinicians_score(runtime, course_service, signed):
    _start(runtime, course_service, signed)
    processor = MessageProcessor(runtime.engine, {
        "questionnaire-response-received": course_service.on_questionnaire_response})
    before = len(_published(runtime))
    message = _ehr_questionnaire_message(_ehr_phq9(14, item9=1))

    assert processor.process("ehr.events", message) == "done"
    assert processor.process("ehr.events", message) == "duplicate"
    # The EHR sends the same response again in a new message: nothing new.
    assert processor.process("ehr.events", _ehr_questionnaire_message(_ehr_phq9(14, item9=1))) == "done"

    course = course_service.patient_course(PATIENT).course
    [score] = course.scores
    assert (score.measurement_id, score.total_score, score.source) == ("ehr-questionnaire-response-qr-ehr-7", 14,
                                                                       ScoreSource.EHR_MESSAGE)
    assert [alert.measurement_id for alert in course.alerts] == [score.measurement_id]
    codes = [code for code, _ in _published(runtime)[before:]]
    assert codes == ["suicidality-alert", "score-recorded"], codes


def test_an_unreadable_ehr_questionnaire_response_is_dead_lettered_and_one_without_a_course_ignored(
        runtime, course_service, signed):
    processor = MessageProcessor(runtime.engine, {
        "questionnaire-response-received": course_service.on_questionnaire_response})
    # No course yet: logged and ignored (done, nothing recorded).
    assert processor.process("ehr.events", _ehr_questionnaire_message(_ehr_phq9(10, 0, "qr-1"))) == "done"
    assert _published(runtime) == []

    _start(runtime, course_service, signed)
    broken = _ehr_phq9(10, 0, "qr-2")
    broken["item"][3]["answer"] = [{"valueString": "often"}]
    with pytest.raises(PermanentError, match=r"QuestionnaireResponse\.item\[44254-1\]"):
        processor.process("ehr.events", _ehr_questionnaire_message(broken))
    with pytest.raises(PermanentError, match="QuestionnaireResponse.questionnaire"):
        processor.process("ehr.events", _ehr_questionnaire_message(
            _ehr_phq9(10, 0, "qr-3") | {"questionnaire": "http://example.org/q/unknown"}))
    assert course_service.patient_course(PATIENT).course.scores == ()


def test_a_clinical_event_is_recorded_through_the_service_and_refused_in_the_future(runtime, course_service, signed):
    """Issue 13 defect 14: a hospitalisation or suicide attempt is recorded on the course (relapse after remission
    when it follows a remission)."""
    from services.orders.course.commands import RecordClinicalEvent
    from services.orders.course.domain.model import ClinicalEventKind

    _start(runtime, course_service, signed)
    course_id = course_service.patient_course(PATIENT).course.course_id
    with pytest.raises(CourseInputError) as future:
        course_service.record_clinical_event(course_id, RecordClinicalEvent(
            ClinicalEventKind.SUICIDE_ATTEMPT, NOW + timedelta(hours=1), PRESCRIBER))
    assert future.value.field == "occurred_at"
    change = course_service.record_clinical_event(course_id, RecordClinicalEvent(
        ClinicalEventKind.PSYCHIATRIC_HOSPITALISATION, NOW - timedelta(days=1), PRESCRIBER,
        event_id="ev-1"))
    [event] = change.course.clinical_events
    assert (event.event_id, event.kind) == ("ev-1", ClinicalEventKind.PSYCHIATRIC_HOSPITALISATION)
    assert change.summary.outcome.relapses == ()  # never in remission: not a relapse
