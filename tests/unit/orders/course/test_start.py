"""The domain steps the course's start relies on: a further series linked, the first induction counting every
induction infusion, and settings that let the course plan every induction the clinic allows."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from services.orders.course.domain.course import link_series, record_infusion, stop_course
from services.orders.course.domain.errors import CourseStateError
from services.orders.course.domain.model import StopReason
from services.orders.course.domain.settings import CourseSettings
from services.orders.domain.settings import ProtocolSettings
from tests.unit.orders.course.builders import CLINICIAN, START, new_course, protocol, settings


def test_a_further_series_is_linked_once_and_never_to_a_stopped_course():
    course = new_course()
    linked = link_series(link_series(course, "series-2"), "series-2")
    assert linked.series_ids == ("series-1", "series-2")
    stopped = stop_course(course, StopReason.PATIENT_CHOICE, CLINICIAN, START)
    with pytest.raises(CourseStateError):
        link_series(stopped, "series-3")


def test_the_first_induction_counts_an_infusion_charted_before_the_course_started():
    course = new_course()
    early = record_infusion(course, session_id="s-0", given_at=course.started_at - timedelta(minutes=2),
                            dose_mg=40, settings=settings(), protocol=protocol())
    assert len(early.current_induction_infusions) == 1


def test_the_course_must_be_able_to_plan_every_induction_the_clinic_allows():
    with pytest.raises(ValueError, match="ORDERS_INDUCTION_MAX_INFUSIONS"):
        CourseSettings(induction_extension_max_infusions=7).validate_with(replace(ProtocolSettings(),
                                                                                  induction_infusion_count=6,
                                                                                  induction_max_infusions=8))
