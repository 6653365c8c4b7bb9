"""Builders for the course unit tests: one patient starting induction on Monday 23 Nov 2026 at 09:00 UTC, infusions
on Mondays and Thursdays, PHQ-9 before each infusion. Each test changes only what it is about."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from services.orders.course.domain.course import record_infusion, record_score, start_course
from services.orders.course.domain.measurements import ScaleScore, ScoreContext, ScoreSource, scale_score
from services.orders.course.domain.model import TreatmentCourse
from services.orders.course.domain.settings import CourseSettings
from services.orders.domain.settings import ProtocolSettings
from shared.scales import Scale
from tests.unit.orders.builders import PRESCRIBER

START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # a Monday
PATIENT = "patient-1"
COURSE = "course-1"
CLINICIAN = PRESCRIBER


def settings(**overrides: Any) -> CourseSettings:
    built = replace(CourseSettings(), **overrides)
    built.validate()
    return built


def protocol(**overrides: Any) -> ProtocolSettings:
    built = replace(ProtocolSettings(), **overrides)
    built.validate()
    return built


def infusion_time(number: int) -> datetime:
    """Infusion ``number`` (1-based) on Mondays and Thursdays from START."""
    weeks, second = divmod(number - 1, 2)
    return START + timedelta(days=7 * weeks + 3 * second)


def phq9_items(total: int, item9: int = 0) -> list[int]:
    """Nine PHQ-9 items adding up to ``total`` with item 9 as given."""
    rest = total - item9
    assert 0 <= rest <= 24, total
    items = [min(3, max(0, rest - 3 * k)) for k in range(8)]
    return items + [item9]


def phq9(measurement_id: str, total: int, at: datetime, context: ScoreContext = ScoreContext.PRE_INFUSION,
         item9: int = 0, source: ScoreSource = ScoreSource.PATIENT_LINK, **kwargs: Any) -> ScaleScore:
    return scale_score(measurement_id, Scale.PHQ9, phq9_items(total, item9), at, source, context, **kwargs)


def new_course(course_settings: CourseSettings | None = None, **kwargs: Any) -> TreatmentCourse:
    return start_course(COURSE, PATIENT, START - timedelta(days=3), CLINICIAN, course_settings or settings(),
                        protocol(), series_id="series-1", **kwargs)


def give(course: TreatmentCourse, numbers: range | list[int], course_settings: CourseSettings | None = None,
         phq9_totals: dict[int, int] | None = None, dose_mg: float = 40.0) -> TreatmentCourse:
    """Infusions ``numbers`` (sessions ``session-N``), each after its pre-infusion PHQ-9 when ``phq9_totals`` has
    one for it (taken 30 minutes before)."""
    course_settings = course_settings or settings()
    for number in numbers:
        if phq9_totals and number in phq9_totals:
            score = phq9(f"phq9-pre-{number}", phq9_totals[number], infusion_time(number) - timedelta(minutes=30),
                         session_id=f"session-{number}")
            course = record_score(course, score, course_settings, protocol())
        course = record_infusion(course, session_id=f"session-{number}", given_at=infusion_time(number),
                                 dose_mg=dose_mg, dose_mg_per_kg=0.5, series_id="series-1", order_id="order-1",
                                 settings=course_settings, protocol=protocol())
    return course


PHQ9_ITEMS = ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"]


def ehr_phq9(**overrides):
    """A PHQ-9 as a portal might send it: LOINC questionnaire, answers as LOINC codes, items inside a group."""
    answers = ["LA6569-3", "LA6570-1", "LA6571-9", "LA6568-5", "LA6569-3", "LA6568-5", "LA6569-3", "LA6568-5",
               "LA6568-5"]
    resource = {
        "resourceType": "QuestionnaireResponse", "id": "qr-ehr-55", "status": "completed",
        "questionnaire": "http://loinc.org/q/44249-1", "subject": {"reference": f"Patient/{PATIENT}"},
        "authored": "2026-11-30T07:15:00-05:00",
        "item": [{"linkId": "phq9-group", "item": [
            {"linkId": code, "answer": [{"valueCoding": {"system": "http://loinc.org", "code": answer}}]}
            for code, answer in zip(PHQ9_ITEMS, answers)]}],
    }
    resource.update(overrides)
    return resource


def session_completed_handler(runtime: Any, course: Any, clock: Any) -> Any:
    """Documentation's ``session-completed`` as the orders bootstrap wires it: the course records the infusion,
    then the orders service marks the series infusion and tells the course of its order event."""
    from services.orders.course.bootstrap import in_turn
    from services.orders.handlers import OrdersService

    orders = OrdersService(runtime, course.protocol, clock=clock, order_listeners=(course.on_order_event,))
    return in_turn(course.on_session_completed, orders.on_session_completed)
