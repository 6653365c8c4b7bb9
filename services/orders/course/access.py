"""SMART access to the treatment course, shared by its API and its page: which EHR patient a course belongs to (the
patient source of ``@requires`` for the operations on one course), and the service layer the views act through
(``bootstrap.install_course`` installs it on the app under ``COURSE_SERVICE``)."""
from __future__ import annotations

from typing import Any

from services.orders.course.handlers import CourseService
from shared.web import app_service

COURSE_SERVICE = "ketalink.orders.course"  # app.extensions key of the CourseService


def course_service() -> CourseService:
    """The current app's course service layer."""
    return app_service(COURSE_SERVICE, CourseService)


def course_patient(view_args: dict[str, Any]) -> str | None:
    """The patient of the course in the URL; None for an unknown course (the view then answers 404, and a
    patient-scoped token is refused first because the request names no patient)."""
    return course_service().course_patient(view_args["course_id"])
