"""The treatment course's page in the orders app, for the clinician who opened it from the patient's chart: one
screen, ``course_page`` (``GET /ui/course`` and the forms it posts), on a module-level blueprint registered by the
orders bootstrap; ``pages`` holds the blueprint and what the posts share, ``forms`` reads the posted forms into the
service layer's commands."""
from __future__ import annotations

from services.orders.course.ui import course_page  # noqa: F401 - importing the screen registers its views
from services.orders.course.ui.pages import blueprint

__all__ = ["blueprint"]
