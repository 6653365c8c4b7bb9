"""The course's transitions, by topic: ``facts`` (the start, and what comes in), ``decisions`` (the clinician's,
and the due check) and ``transitions`` (what they share). Every function returns a new TreatmentCourse (never
half-applied) and raises CourseInputError naming the field, or CourseStateError when the course's status does not
allow the step.

Facts (an infusion given, a score, a C-SSRS screener, an adverse event) are accepted in any status but
``stopped`` for infusions; they are keyed (session, measurement, event id) so a redelivered message changes nothing
and a resent one with other content updates the record (a rescored questionnaire). Decisions (extend, maintenance,
re-induction, stop) are the clinician's and need ``by``; where a decision goes against the outcome (maintenance
without a response, continuing through a loss of response or a relapse) or is a documented choice (an extension,
a re-induction) a reason is required and kept in the course's history, which the CarePlan carries as progress notes.

Response check: when the planned induction infusions have been given, or the induction series ended with fewer
(missed infusions not made up: ``induction_series_ended``), the course moves to ``response-check`` and opens a task
due ``ORDERS_REEVALUATION_DAYS_AFTER_INDUCTION`` days after the last one: ``response-review`` for a responder
(decide maintenance), ``reevaluation`` otherwise (no response, or response undetermined: the reason says why).
Non-response never passes silently. Scores recorded during the check update the task to what they now show.
In maintenance, a loss of response, a relapse after remission (by scores, or a hospitalisation or suicide attempt
recorded with ``record_clinical_event``) or the re-evaluation date (``check_due``) moves the course to
``reevaluation-due`` with a ``reevaluation`` task."""
from __future__ import annotations

from services.orders.course.domain.course.decisions import (
    check_due,
    continue_maintenance,
    extend_induction,
    reinduce,
    start_maintenance,
    stop_course,
)
from services.orders.course.domain.course.facts import (
    acknowledge_alert,
    induction_series_ended,
    link_series,
    record_adverse_event,
    record_clinical_event,
    record_cssrs,
    record_infusion,
    record_score,
    start_course,
)
from services.orders.course.domain.outcomes import outcome_text

__all__ = [
    "acknowledge_alert", "check_due", "continue_maintenance", "extend_induction", "induction_series_ended",
    "link_series", "outcome_text", "record_adverse_event", "record_clinical_event", "record_cssrs",
    "record_infusion", "record_score", "reinduce", "start_course", "start_maintenance", "stop_course",
]
