"""A course task → Task, the prescriber's work item in the EHR: ``code`` response review or re-evaluation,
``description`` the reason in words (the outcome that made it: "No response after 6 induction infusions: PHQ-9 24 → 20
(16.7% drop) ..."), ``status`` requested while open and completed once a decision (or a newer task) closed it,
``intent: order``, ``focus`` the course CarePlan, ``for`` the patient, ``authoredOn`` when it was opened,
``restriction.period.end`` the day it is due, ``lastModified`` when it was closed."""
from __future__ import annotations

from services.orders.course.domain.model import CourseTask, TaskStatus
from services.orders.course.translators.codes import KIND_TASK, TASK_CODES
from services.orders.course.translators.common import FhirJson, course_reference, note_author
from shared.fhir.datatypes import codeable_concept, fhir_date, identifier, instant, reference
from shared.fhir.validate import validate_resource

TASK_STATUS = {TaskStatus.OPEN: "requested", TaskStatus.DONE: "completed"}


def task_from_course_task(task: CourseTask, patient_id: str, course_id: str) -> FhirJson:
    resource: FhirJson = {
        "resourceType": "Task",
        "identifier": [identifier(KIND_TASK, task.task_id)],
        "status": TASK_STATUS[task.status],
        "intent": "order",
        "code": codeable_concept(TASK_CODES[task.kind]),
        "description": task.reason,
        "focus": course_reference(course_id),
        "for": reference("Patient", patient_id),
        "authoredOn": instant(task.created_at),
        "restriction": {"period": {"end": fhir_date(task.due_on)}},
    }
    if task.closed_at is not None:
        resource["lastModified"] = instant(task.closed_at)
        if task.closed_by:
            resource["note"] = [{**note_author(task.closed_by), "time": instant(task.closed_at),
                                 "text": "Closed"}]
    return validate_resource(resource)
