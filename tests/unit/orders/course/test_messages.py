"""Which messages one change of a course publishes (``course/events.py``), and what each carries."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from services.orders.course.domain.course import acknowledge_alert, record_cssrs, record_score, stop_course
from services.orders.course.domain.measurements import ScoreContext, ScoreSource, cssrs_screening
from services.orders.course.domain.model import StopReason
from services.orders.course.messages import course_events
from tests.unit.orders.course.builders import CLINICIAN, START, give, infusion_time, new_course, phq9, protocol, \
    settings

TODAY = START.date()


def _codes(events) -> list[str]:
    return [e.event_code for e in events]


def _types(event) -> list[str]:
    return [r["resourceType"] for r in event.focus]


def _events(before, after):
    return course_events(before, after, settings(), TODAY, CLINICIAN)


def test_a_new_course_is_announced_first_with_its_care_plan_and_goal():
    course = new_course()
    [event] = _events(None, course)
    assert event.event_code == "course-changed" and _types(event) == ["CarePlan", "Goal"]
    assert event.focus[1]["achievementStatus"]["coding"][0]["code"] == "in-progress"


def test_a_course_starting_with_the_intakes_baseline_sends_its_observation_after_the_care_plan():
    baseline = phq9("intake-1-phq-9", 20, START - timedelta(days=5), ScoreContext.BASELINE, source=ScoreSource.INTAKE)
    course = record_score(new_course(), baseline, settings(), protocol())
    events = _events(None, course)
    assert _codes(events) == ["course-changed", "score-recorded"]
    assert _types(events[1]) == ["Observation", "Goal"]  # the intake's QuestionnaireResponse is in the EHR already
    derived = events[1].focus[0]["derivedFrom"][0]["identifier"]
    assert derived["system"].endswith("/intake-questionnaire-response") and derived["value"] == "intake-1-phq-9"


def test_a_clinician_score_sends_its_questionnaire_response_observation_and_goal():
    before = give(new_course(), [1], phq9_totals={1: 20})
    score = phq9("phq9-follow", 14, infusion_time(1) + timedelta(days=1), ScoreContext.FOLLOW_UP,
                 source=ScoreSource.CLINICIAN, recorded_by=CLINICIAN)
    after = record_score(before, score, settings(), protocol())
    [event] = _events(before, after)
    assert event.event_code == "score-recorded" and event.subject_id == "phq9-follow"
    assert _types(event) == ["QuestionnaireResponse", "Observation", "Goal"]
    assert event.focus[2]["achievementStatus"]["coding"][0]["code"] == "improving"


def test_nothing_changed_nothing_published():
    course = give(new_course(), [1, 2], phq9_totals={1: 20, 2: 15})
    assert _events(course, course) == []
    again = record_score(course, phq9("phq9-pre-2", 15, infusion_time(2) - timedelta(minutes=30),
                                      session_id="session-2"), settings(), protocol())
    assert _events(course, again) == []


def test_response_then_remission_are_published_when_the_outcome_changes():
    course = give(new_course(), [1, 2], phq9_totals={1: 20, 2: 15})
    responded = record_score(course, phq9("s3", 10, infusion_time(3) - timedelta(minutes=30)), settings(),
                             protocol())
    assert _codes(_events(course, responded)) == ["score-recorded", "response-reached"]
    still = record_score(responded, phq9("s4", 8, infusion_time(4) - timedelta(minutes=30)), settings(), protocol())
    assert _codes(_events(responded, still)) == ["score-recorded"]
    remitted = record_score(still, phq9("s5", 4, infusion_time(5) - timedelta(minutes=30)), settings(), protocol())
    events = _events(still, remitted)
    assert _codes(events) == ["score-recorded", "remission-reached"]
    assert _types(events[1]) == ["QuestionnaireResponse", "Observation", "Goal"]
    assert events[1].focus[2]["achievementStatus"]["coding"][0]["code"] == "achieved"


def test_a_rescored_questionnaire_goes_out_amended_and_its_outcome_follows():
    course = give(new_course(), [1, 2], phq9_totals={1: 20, 2: 15})
    responded = record_score(course, phq9("s3", 10, infusion_time(3) - timedelta(minutes=30)), settings(),
                             protocol())
    corrected = record_score(responded, phq9("s3", 12, infusion_time(3) - timedelta(minutes=30)), settings(),
                             protocol())
    [event] = _events(responded, corrected)
    assert event.event_code == "score-recorded"
    assert [r["status"] for r in event.focus[:2]] == ["amended", "amended"]


def test_a_confirmed_loss_of_response_in_maintenance_is_published_with_reevaluation_due():
    from services.orders.course.domain.course import start_maintenance

    course = give(new_course(), range(1, 7), phq9_totals={1: 20, 2: 15, 3: 9, 4: 8, 5: 7, 6: 6})
    course = start_maintenance(course, 21, CLINICIAN, infusion_time(6) + timedelta(days=2), settings(), protocol())
    later = infusion_time(6) + timedelta(days=20)
    worse = record_score(course, phq9("m1", 16, later), settings(), protocol())
    relapsed = record_score(worse, phq9("m2", 17, later + timedelta(days=7)), settings(), protocol())
    events = _events(worse, relapsed)
    assert _codes(events) == ["course-changed", "score-recorded", "loss-of-response", "reevaluation-due"]
    assert _types(events[3]) == ["Task", "CarePlan"]
    task = events[3].focus[0]
    assert task["status"] == "requested" and task["code"]["coding"][0]["code"] == "course-reevaluation"
    assert task["description"].startswith("Loss of response")


def test_a_non_responder_after_induction_gets_reevaluation_due_with_the_task():
    before = give(new_course(), range(1, 6), phq9_totals={1: 22, 2: 21, 3: 20, 4: 19, 5: 18})
    after = give(before, [6], phq9_totals={6: 17})
    events = _events(before, after)
    assert _codes(events) == ["course-changed", "score-recorded", "reevaluation-due"]
    assert "Task" in _types(events[0])  # the task is part of the course change too
    assert events[2].subject_id == after.tasks[0].task_id
    assert events[2].focus[0]["description"].startswith("No response after 6 induction infusions")


def test_a_suicidality_alert_is_its_own_message_before_the_score_and_its_acknowledgement_too():
    before = give(new_course(), [1], phq9_totals={1: 20})
    score = phq9("phq9-item9", 14, infusion_time(1) + timedelta(days=1), ScoreContext.FOLLOW_UP, item9=2,
                 source=ScoreSource.CLINICIAN, recorded_by=CLINICIAN)
    after = record_score(before, score, settings(), protocol())
    events = _events(before, after)
    assert _codes(events) == ["suicidality-alert", "score-recorded"]
    assert _types(events[0]) == ["DetectedIssue", "QuestionnaireResponse", "Observation"]
    assert events[0].subject_id == "phq9-item9-phq9-item9" and events[0].extra == {"level": "moderate"}

    closed = acknowledge_alert(after, "phq9-item9-phq9-item9", CLINICIAN, infusion_time(1) + timedelta(days=2),
                               "called the patient")
    [ack] = _events(after, closed)
    assert ack.event_code == "suicidality-alert-acknowledged"
    assert ack.focus[0]["mitigation"][0]["action"]["text"] == "called the patient"


def test_a_cssrs_screener_at_the_clinics_level_raises_an_alert():
    before = new_course()
    screening = cssrs_screening("cssrs-1", {"wish-to-be-dead": True, "suicidal-thoughts": True,
                                            "ideation-with-method": False, "ideation-with-intent": True,
                                            "ideation-with-plan-and-intent": False,
                                            "suicidal-behaviour-lifetime": False},
                                START, ScoreSource.CLINICIAN, ScoreContext.PRE_INFUSION, settings(),
                                recorded_by=CLINICIAN)
    after = record_cssrs(before, screening, settings())
    events = _events(before, after)
    assert _codes(events) == ["suicidality-alert", "score-recorded"]
    assert events[0].focus[0]["severity"] == "high"
    assert events[0].focus[2]["code"]["coding"][0]["code"] == "93374-7"


def test_stopping_the_course_revokes_its_care_plan_and_cancels_the_goal():
    before = give(new_course(), [1], phq9_totals={1: 20})
    after = stop_course(before, StopReason.PATIENT_CHOICE, CLINICIAN, infusion_time(1) + timedelta(days=1))
    [event] = _events(before, after)
    assert event.event_code == "course-changed"
    assert event.focus[0]["status"] == "revoked" and event.focus[1]["lifecycleStatus"] == "cancelled"
    assert "achievementStatus" not in event.focus[1]


def test_a_referral_goes_out_with_the_course_change():
    from services.orders.course.domain.psychotherapy import refer
    from services.orders.course.domain.therapy import TherapyKind

    before = give(new_course(), [1], phq9_totals={1: 20})
    after = refer(before, "ref-1", TherapyKind.INTEGRATION, CLINICIAN, infusion_time(1), "integration after "
                                                                                         "each infusion")
    [event] = _events(before, after)
    assert _types(event) == ["CarePlan", "Goal", "ServiceRequest"]
    assert replace(event, focus=[]).author == CLINICIAN


def test_a_relapse_after_remission_in_maintenance_is_published_apart_from_a_loss_of_response():
    from services.orders.course.domain.course import record_clinical_event, start_maintenance
    from services.orders.course.domain.model import ClinicalEvent, ClinicalEventKind

    course = give(new_course(), range(1, 7), phq9_totals={1: 20, 2: 15, 3: 9, 4: 8, 5: 4, 6: 3})  # remission
    course = start_maintenance(course, 21, CLINICIAN, infusion_time(6) + timedelta(days=2), settings(), protocol())
    event = ClinicalEvent("ev-1", ClinicalEventKind.SUICIDE_ATTEMPT, infusion_time(6) + timedelta(days=9), CLINICIAN)
    relapsed = record_clinical_event(course, event, settings(), protocol())
    events = _events(course, relapsed)
    assert _codes(events) == ["course-changed", "relapse-after-remission", "reevaluation-due"]
    assert events[1].subject_id == "ev-1"
    assert events[2].focus[0]["description"].startswith("Relapse after remission: suicide attempt")


def test_answers_to_messages_sent_as_relapse_before_the_rename_still_have_a_handler(tmp_path):
    """Issue 13 defect 14 renamed the event ``relapse`` to ``loss-of-response``; an EHR answer on ehr.responses to a
    ``relapse`` message sent before the upgrade must not be dead-lettered for want of a handler."""
    from services.orders.bootstrap import build
    from shared.events.event_codes import COURSE_EVENT_CODES
    from shared.events.kafka_clients import KafkaSettings
    from shared.runtime import ServiceRuntime, ServiceSettings

    assert "relapse" not in COURSE_EVENT_CODES
    assert {"loss-of-response", "relapse-after-remission"} <= set(COURSE_EVENT_CODES)
    runtime = ServiceRuntime("orders", ServiceSettings(database_url=f"sqlite:///{tmp_path / 'orders.db'}"),
                             KafkaSettings())
    _app, _handlers, response_handlers = build(runtime)
    assert "relapse" in response_handlers
