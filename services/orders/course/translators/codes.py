"""Codes, canonicals and identifier kinds of the course translators that shared/fhir/codes.py does not hold.

Standard codes say where they come from. PHQ-9 items (LOINC, as in the US Core PHQ-9 example), their answer list
LL358-3 (also GAD-7's), the C-SSRS screener items and Yes/No answers (CLINICAL.md "Codes") and the questionnaire
canonicals are the ones the intake writes (services/intake/translators/codes.py), so a baseline QuestionnaireResponse
from the intake reads here unchanged; they would be better moved to shared/fhir/codes.py for both. MADRS and
QIDS-SR16 have no LOINC (CLINICAL.md) and GAD-7 items were not verified, so their items use local codes. FHIR's own
code systems (goal-achievement, measure-population) are the published R4 ones. Everything else is Ketalink-local
(``KETALINK_LOCAL``)."""
from __future__ import annotations

from services.orders.course.domain.goals import GoalStatus
from services.orders.course.domain.measurements import ScoreContext, ScoreSource
from services.orders.course.domain.model import CourseStatus, StopReason, TaskKind
from services.orders.course.domain.outcomes import GoalAchievement, RemissionStatus, ResponseStatus
from services.orders.course.domain.suicidality import AlertSource
from services.orders.course.domain.therapy import Attendance, TherapyKind
from services.orders.domain.series import SeriesPhase
from services.orders.translators.codes import KIND_ORDER, KIND_SERIES
from shared.fhir.codes import CSSRS_RISK, GAD7_TOTAL, KETALINK_LOCAL, LOINC, MADRS_TOTAL, PHQ9_TOTAL, Code
from shared.scales import CssrsItem, CssrsRisk, Scale

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
KIND_ORDER_REQUEST = KIND_ORDER

# Scale totals (PHQ-9, GAD-7 LOINC; MADRS local in shared) and the local QIDS-SR16 total.
QIDS_SR16_TOTAL = Code(KETALINK_LOCAL, "qids-sr16-total",
                       "Quick Inventory of Depressive Symptomatology, Self-Report (16 item) total score", "{score}")
SCALE_TOTALS: dict[Scale, Code] = {
    Scale.PHQ9: PHQ9_TOTAL, Scale.GAD7: GAD7_TOTAL, Scale.MADRS: MADRS_TOTAL, Scale.QIDS_SR16: QIDS_SR16_TOTAL,
}
SCORE_UNIT = "{score}"

QUESTIONNAIRES: dict[Scale, str] = {
    Scale.PHQ9: f"{KETALINK_BASE}/Questionnaire/phq-9",
    Scale.MADRS: f"{KETALINK_BASE}/Questionnaire/madrs",
    Scale.GAD7: f"{KETALINK_BASE}/Questionnaire/gad-7",
    Scale.QIDS_SR16: f"{KETALINK_BASE}/Questionnaire/qids-sr16",
}
CSSRS_QUESTIONNAIRE = f"{KETALINK_BASE}/Questionnaire/cssrs-screener"
# LOINC's own questionnaire canonicals an EHR may name instead (PHQ-9 panel 44249-1, GAD-7 panel 69737-5).
LOINC_QUESTIONNAIRES: dict[str, Scale] = {
    "http://loinc.org/q/44249-1": Scale.PHQ9,
    "http://loinc.org/q/69737-5": Scale.GAD7,
}


def _local_items(prefix: str, displays: tuple[str, ...]) -> tuple[Code, ...]:
    return tuple(Code(KETALINK_LOCAL, f"{prefix}-item-{n}", text) for n, text in enumerate(displays, start=1))


SCALE_ITEMS: dict[Scale, tuple[Code, ...]] = {
    Scale.PHQ9: (
        Code(LOINC, "44250-9", "Little interest or pleasure in doing things"),
        Code(LOINC, "44255-8", "Feeling down, depressed, or hopeless"),
        Code(LOINC, "44259-0", "Trouble falling or staying asleep, or sleeping too much"),
        Code(LOINC, "44254-1", "Feeling tired or having little energy"),
        Code(LOINC, "44251-7", "Poor appetite or overeating"),
        Code(LOINC, "44258-2", "Feeling bad about yourself - or that you are a failure or have let yourself or your "
                               "family down"),
        Code(LOINC, "44252-5", "Trouble concentrating on things, such as reading the newspaper or watching "
                               "television"),
        Code(LOINC, "44253-3", "Moving or speaking so slowly that other people could have noticed, or the opposite"),
        Code(LOINC, "44260-8", "Thoughts that you would be better off dead, or of hurting yourself in some way"),
    ),
    Scale.MADRS: _local_items("madrs", (
        "Apparent sadness", "Reported sadness", "Inner tension", "Reduced sleep", "Reduced appetite",
        "Concentration difficulties", "Lassitude", "Inability to feel", "Pessimistic thoughts", "Suicidal thoughts",
    )),
    Scale.GAD7: _local_items("gad7", (
        "Feeling nervous, anxious, or on edge", "Not being able to stop or control worrying",
        "Worrying too much about different things", "Trouble relaxing",
        "Being so restless that it is hard to sit still", "Becoming easily annoyed or irritable",
        "Feeling afraid, as if something awful might happen",
    )),
    Scale.QIDS_SR16: _local_items("qids-sr16", (
        "Falling asleep", "Sleep during the night", "Waking up too early", "Sleeping too much", "Feeling sad",
        "Decreased appetite", "Increased appetite", "Decreased weight (within the last two weeks)",
        "Increased weight (within the last two weeks)", "Concentration / decision making", "View of myself",
        "Thoughts of death or suicide", "General interest", "Energy level", "Feeling slowed down",
        "Feeling restless",
    )),
}
# LOINC answer list LL358-3 (PHQ-9 and GAD-7 items): answer code → item score.
FREQUENCY_ANSWER_SCORES: dict[str, int] = {"LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3}

CSSRS_ITEMS: dict[CssrsItem, Code] = {
    CssrsItem.WISH_TO_BE_DEAD: Code(LOINC, "93246-7", "Have you wished you were dead or wished you could go to "
                                                      "sleep and not wake up?"),
    CssrsItem.SUICIDAL_THOUGHTS: Code(LOINC, "93247-5", "Have you actually had any thoughts of killing yourself?"),
    CssrsItem.IDEATION_WITH_METHOD: Code(LOINC, "93248-3", "Have you been thinking about how you might do this?"),
    CssrsItem.IDEATION_WITH_INTENT: Code(LOINC, "93249-1", "Have you had these thoughts and had some intention of "
                                                           "acting on them?"),
    CssrsItem.IDEATION_WITH_PLAN_AND_INTENT: Code(LOINC, "93250-9", "Have you started to work out or worked out the "
                                                                    "details of how to kill yourself? Do you intend "
                                                                    "to carry out this plan?"),
    CssrsItem.SUICIDAL_BEHAVIOUR_LIFETIME: Code(LOINC, "93267-3", "Have you ever done anything, started to do "
                                                                  "anything, or prepared to do anything to end your "
                                                                  "life?"),
    CssrsItem.SUICIDAL_BEHAVIOUR_PAST_3_MONTHS: Code(LOINC, "93269-9", "Was this within the past 3 months?"),
}
LOINC_YES = Code(LOINC, "LA33-6", "Yes")
LOINC_NO = Code(LOINC, "LA32-8", "No")
CSSRS_RISK_CODES: dict[CssrsRisk, Code] = {  # the intake's local risk codes
    risk: Code(KETALINK_LOCAL, f"cssrs-risk-{risk.value}", f"C-SSRS risk: {risk.value}") for risk in CssrsRisk
}

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
}
PRESCRIBER_REVIEWED = Code(KETALINK_LOCAL, "prescriber-reviewed", "Reviewed by the prescriber")

# Task (the prescriber's response review or re-evaluation after induction, a relapse or the maintenance date).
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
        ("remission_rule", None), ("ever_responded", None), ("relapsed", None),
        ("first_response_after_infusions", None), ("infusions", None), ("induction_infusions", None),
        ("maintenance_infusions", None), ("adverse_events", None), ("serious_adverse_events", None),
        ("integration_sessions_attended", None),
    )
}
