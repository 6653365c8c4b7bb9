"""The treatment course's page in the orders app, for the clinician who opened it from the patient's chart: one
screen, ``course_page`` (``GET /ui/course`` and the forms it posts), on a module-level blueprint registered by the
orders bootstrap; ``pages`` holds the blueprint and what the posts share, ``forms`` reads the posted forms into the
service layer's commands. ``patient_blueprint`` holds the patient's questionnaire pages (the link, no sign-in:
``PATIENT_PAGE_ENDPOINTS`` are open to SMART) and ``questionnaires_page`` the staff's links and due list."""
from __future__ import annotations

from services.orders.course.ui import course_page  # noqa: F401 - importing the screen registers its views
from services.orders.course.ui import course_pdf  # noqa: F401 - the course summary as PDF
from services.orders.course.ui import questionnaires_page  # noqa: F401 - the staff's patient questionnaires
from services.orders.course.ui.pages import blueprint
from services.orders.course.ui.patient_page import PATIENT_PAGE_ENDPOINTS, patient_blueprint

__all__ = ["PATIENT_PAGE_ENDPOINTS", "blueprint", "patient_blueprint"]
