"""The course's service layer: HTTP requests and Kafka messages end up here alike, commands in and domain objects
out. ``CourseService`` is one class built from its topics, each in its own module:

- ``core``: the settings, the answer to a change and the one path of a change (load, one domain step and the
  re-evaluation due check, save and enqueue its messages in one transaction; then wait for the broker to take a
  suicidality alert);
- ``event_handlers``: the Kafka handlers and the orders service's order listener (``on_order_event``);
- ``clinical_acts``: the clinician's acts (scores, C-SSRS, clinical events, alerts, decisions, psychotherapy);
- ``reads``: the course as read (after the due check), its patient, the outcomes export;
- ``patient_reports``: the patient's questionnaire links (made by staff, filled by the patient) and what is due.

Re-evaluation due (``check_due``: maintenance reached its re-evaluation date) is checked after every change and
when the course is read (the summary and the clinician's page), which then saves and publishes
``reevaluation-due`` like any other change (documented in the course README)."""
from __future__ import annotations

from services.orders.course.handlers.clinical_acts import CourseClinicalActs
from services.orders.course.handlers.core import CourseChange, CourseServiceSettings, PublishedEvent
from services.orders.course.handlers.event_handlers import CourseEventHandlers
from services.orders.course.handlers.patient_reports import CoursePatientReports
from services.orders.course.handlers.reads import CourseReads

__all__ = ["CourseChange", "CourseService", "CourseServiceSettings", "PublishedEvent"]


class CourseService(CourseEventHandlers, CourseClinicalActs, CourseReads, CoursePatientReports):
    """The course's service layer (see the module's docstring for its parts)."""
