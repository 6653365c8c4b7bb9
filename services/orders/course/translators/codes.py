"""Codes, canonicals and identifier kinds of the course translators that shared/fhir/codes.py does not hold.

Standard codes say where they come from. The instruments' items, answers and questionnaire canonicals are the ones
the intake writes, shared in shared/fhir/instrument_codes.py, so a baseline QuestionnaireResponse from the intake
reads here unchanged. FHIR's own code systems (goal-achievement, measure-population) are the published R4 ones. Everything else is Ketalink-local
(``KETALINK_LOCAL``)."""
from __future__ import annotations

from services.orders.course.domain.goals import GoalStatus
from services.orders.course.domain.measurements import ScoreContext, ScoreSource
from services.orders.course.domain.model import CourseStatus, StopReason, TaskKind
from services.orders.course.domain.outcomes import GoalAchievement, RemissionStatus, ResponseStatus
from services.orders.course.domain.suicidality import AlertSource
from services.orders.course.domain.therapy import Attendance, TherapyKind
from services.orders.domain.series import SeriesPhase
from shared.fhir.codes import KIND_ORDER, KIND_SERIES
from shared.fhir.codes import CSSRS_RISK, GAD7_TOTAL, KETALINK_LOCAL, MADRS_TOTAL, PHQ9_TOTAL, Code
from shared.fhir.instrument_codes import (  # noqa: F401 - re-exported for the course translators
    CSSRS_ITEMS, CSSRS_QUESTIONNAIRE, CSSRS_RISK_LOCAL, FREQUENCY_ANSWER_SCORES, LOINC_NO, LOINC_QUESTIONNAIRES,
    LOINC_YES, QUESTIONNAIRES, SCALE_ITEMS,
)
from shared.scales import CssrsRisk, Scale

KETALINK_BASE = "https://ketalink.example.org/fhir"

# Identifier kinds (``shared.fhir.datatypes.identifier(kind, value)``).
KIND_COURSE = "course"  # CarePlan of the course; value: course id
KIND_SCORE = "course-score"  # survey Observation; value: measurement id
KIND_QUESTIONNAIRE_RESPONSE = "course-questionnaire-response"  # value: measurement id
KIND_GOAL = "course-goal"  # value: goal id
KIND_REFERRAL = "course-referral"  # ServiceRequest; value: referral id
KIND_SUICIDALITY_ALERT = "course-suicidality-alert"  # DetectedIssue; value: alert id
KIND_TASK = "course-task"  # Task: a response review or re-evaluation for the prescriber; value: task id
KIND_OUTCOME_EXPORT = "course-outcome-export"  # export Bundle ("{export id}") and its rows ("{export id}/{row key}")
# Kinds other services give the resources the course refers to (documentation: one Encounter and Procedure per
# infusion session; orders: the series CarePlan and the order).
KIND_INFUSION_SESSION = "infusion-session"  # Encounter
KIND_INFUSION_PROCEDURE = "infusion"  # Procedure
KIND_SERIES_CAREPLAN = KIND_SERIES
KIND_INTAKE_QUESTIONNAIRE_RESPONSE = "intake-questionnaire-response"  # the intake's baseline scales
KIND_INTAKE_ELIGIBILITY = "eligibility"  # the intake's eligibility RiskAssessment; value: intake id
KIND_ORDER_REQUEST = KIND_ORDER

# Scale totals (PHQ-9, GAD-7 LOINC; MADRS local in shared) and the local QIDS-SR16 total.
QIDS_SR16_TOTAL = Code(KETALINK_LOCAL, "qids-sr16-total",
                       "Quick Inventory of Depressive Symptomatology, Self-Report (16 item) total score", "{score}")
SCALE_TOTALS: dict[Scale, Code] = {
    Scale.PHQ9: PHQ9_TOTAL, Scale.GAD7: GAD7_TOTAL, Scale.MADRS: MADRS_TOTAL, Scale.QIDS_SR16: QIDS_SR16_TOTAL,
}
SCORE_UNIT = "{score}"

CSSRS_RISK_CODES: dict[CssrsRisk, Code] = CSSRS_RISK_LOCAL  # the intake's local risk codes

# Survey Observation: the context (a second category) and who answered (method).
SCORE_CONTEXT_CODES: dict[ScoreContext, Code] = {
    ScoreContext.BASELINE: Code(KETALINK_LOCAL, "score-context-baseline", "Baseline score"),
    ScoreContext.PRE_INFUSION: Code(KETALINK_LOCAL, "score-context-pre-infusion", "Score before an infusion"),
    ScoreContext.FOLLOW_UP: Code(KETALINK_LOCAL, "score-context-follow-up", "Score at a follow-up visit"),
}
SCORE_SOURCE_CODES: dict[ScoreSource, Code] = {
    ScoreSource.CLINICIAN: Code(KETALINK_LOCAL, "score-source-clinician", "Entered or rated by a clinician"),
    ScoreSource.PATIENT_LINK: Code(KETALINK_LOCAL, "score-source-patient-link",
                                   "Answered by the patient through a questionnaire link"),
    ScoreSource.EHR_MESSAGE: Code(KETALINK_LOCAL, "score-source-ehr-message",
                                  "Received from the EHR as a questionnaire response"),
    ScoreSource.INTAKE: Code(KETALINK_LOCAL, "score-source-intake", "Recorded by the intake as the baseline"),
}

# Course CarePlan.
COURSE_CATEGORY = Code(KETALINK_LOCAL, "ketamine-treatment-course", "IV ketamine treatment course")
COURSE_TITLE = "IV ketamine treatment course"
COURSE_STATUS_CODES: dict[CourseStatus, Code] = {
    status: Code(KETALINK_LOCAL, f"course-status-{status.value}", f"Course status: {status.value.replace('-', ' ')}")
    for status in CourseStatus
}
STOP_REASON_CODES: dict[StopReason, Code] = {
    reason: Code(KETALINK_LOCAL, f"course-stop-{reason.value}", f"Course stopped: {reason.value.replace('-', ' ')}")
    for reason in StopReason
}
INFUSION_PHASE_CODES: dict[SeriesPhase, Code] = {
    SeriesPhase.INDUCTION: Code(KETALINK_LOCAL, "induction-infusion", "Induction infusion"),
    SeriesPhase.MAINTENANCE: Code(KETALINK_LOCAL, "maintenance-infusion", "Maintenance infusion"),
}
THERAPY_SESSION_CODES: dict[TherapyKind, Code] = {
    TherapyKind.INTEGRATION: Code(KETALINK_LOCAL, "integration-session", "Integration session after an infusion"),
    TherapyKind.PSYCHOTHERAPY: Code(KETALINK_LOCAL, "psychotherapy-session", "Psychotherapy session"),
}
SESSION_NOT_ATTENDED_CODES: dict[Attendance, Code] = {
    Attendance.MISSED: Code(KETALINK_LOCAL, "did-not-attend", "Did not attend"),
    Attendance.CANCELLED: Code(KETALINK_LOCAL, "session-cancelled", "Session cancelled"),
}
ACTIVITY_KIND_INFUSION = "MedicationRequest"  # as the series CarePlan (docs/contracts.md)
ACTIVITY_KIND_SESSION = "Appointment"

# Psychotherapy / integration referral (ServiceRequest).
REFERRAL_CODES: dict[TherapyKind, Code] = {
    TherapyKind.INTEGRATION: Code(KETALINK_LOCAL, "integration-referral", "Referral for integration sessions"),
    TherapyKind.PSYCHOTHERAPY: Code(KETALINK_LOCAL, "psychotherapy-referral", "Referral for psychotherapy"),
}

# Suicidality alert (DetectedIssue): the issue, the evidence by rule, the prescriber's acknowledgement.
SUICIDALITY_RISK = Code(KETALINK_LOCAL, "suicidality-risk", "Suicidality risk for prescriber review")
ALERT_EVIDENCE_CODES: dict[AlertSource, Code] = {
    AlertSource.CSSRS: CSSRS_RISK,
    AlertSource.PHQ9_ITEM9: SCALE_ITEMS[Scale.PHQ9][8],
    AlertSource.MADRS_ITEM10: SCALE_ITEMS[Scale.MADRS][9],
    AlertSource.QIDS_SR16_ITEM12: SCALE_ITEMS[Scale.QIDS_SR16][11],
}
PRESCRIBER_REVIEWED = Code(KETALINK_LOCAL, "prescriber-reviewed", "Reviewed by the prescriber")

# Task (the prescriber's response review or re-evaluation after induction, a loss of response, a relapse after
# remission or the maintenance date).
TASK_CODES: dict[TaskKind, Code] = {
    TaskKind.RESPONSE_REVIEW: Code(KETALINK_LOCAL, "course-response-review",
                                   "Review the response after induction and decide maintenance"),
    TaskKind.REEVALUATION: Code(KETALINK_LOCAL, "course-reevaluation",
                                "Re-evaluate the ketamine treatment course"),
}

# Goal.
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
GOAL_ACHIEVEMENT_CODES: dict[GoalAchievement, Code] = {
    a: Code(GOAL_ACHIEVEMENT, a.value, a.value.replace("-", " ").capitalize()) for a in GoalAchievement
}
GOAL_LIFECYCLE_BY_STATUS: dict[GoalStatus, str] = {
    GoalStatus.ACTIVE: "active", GoalStatus.COMPLETED: "completed", GoalStatus.CANCELLED: "cancelled",
}

# Outcomes export.
OUTCOME_MEASURE = f"{KETALINK_BASE}/Measure/ketamine-course-outcomes"
MEASURE_POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
POPULATION_INITIAL = Code(MEASURE_POPULATION, "initial-population", "Initial Population")
POPULATION_DENOMINATOR = Code(MEASURE_POPULATION, "denominator", "Denominator")
POPULATION_NUMERATOR = Code(MEASURE_POPULATION, "numerator", "Numerator")
GROUP_RESPONSE = Code(KETALINK_LOCAL, "course-response", "Courses in response at their last score")
GROUP_REMISSION = Code(KETALINK_LOCAL, "course-remission", "Courses in remission at their last score")
COURSE_OUTCOME = Code(KETALINK_LOCAL, "course-outcome", "Outcome of one IV ketamine treatment course (de-identified)")
RESPONSE_CODES: dict[ResponseStatus, Code] = {
    s: Code(KETALINK_LOCAL, f"response-{s.value}", f"Response: {s.value.replace('-', ' ')}") for s in ResponseStatus
}
REMISSION_CODES: dict[RemissionStatus, Code] = {
    s: Code(KETALINK_LOCAL, f"remission-{s.value}", f"Remission: {s.value.replace('-', ' ')}")
    for s in RemissionStatus
}
# Components of a course outcome Observation: column of the export row → code (and UCUM unit for quantities).
OUTCOME_COMPONENTS: dict[str, Code] = {
    name: Code(KETALINK_LOCAL, f"outcome-{name.replace('_', '-')}", name.replace("_", " ").capitalize(), unit)
    for name, unit in (
        ("age_band", None), ("start_year", None), ("course_status", None), ("stop_reason", None),
        ("primary_scale", None), ("baseline_score", SCORE_UNIT), ("best_score", SCORE_UNIT),
        ("last_score", SCORE_UNIT), ("last_drop_pct", "%"), ("response", None), ("remission", None),
        ("remission_rule", None), ("ever_responded", None), ("lost_response", None),
        ("relapsed_after_remission", None),
        ("first_response_after_infusions", None), ("infusions", None), ("induction_infusions", None),
        ("maintenance_infusions", None), ("adverse_events", None), ("serious_adverse_events", None),
        ("integration_sessions_attended", None),
    )
}
