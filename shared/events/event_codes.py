"""Every FHIR message event code Ketalink sends or reads, grouped by the topic that carries it (``topics.py``): the
single source of these strings; services import them and never spell one out (tests/unit/shared/test_event_codes.py).

A message's ``MessageHeader.eventCoding.code`` and the Kafka header ``event-code`` carry them (docs/contracts.md).
Answers on ``ehr.responses`` have no codes of their own: the EHR answers under the code of the message it answers.
"""
from __future__ import annotations

from shared.events import topics

# --- ehr.events: what the EHR's integration engine sends --------------------------------------------------------
REFERRAL_REQUESTED = "referral-requested"  # ServiceRequest → intake
CPOE_ORDER_PLACED = "cpoe-order-placed"  # MedicationRequest placed in the EHR's CPOE → orders
WEIGHT_RECORDED = "weight-recorded"  # Observation
EHR_VITALS_RECORDED = "vitals-recorded"  # Observation → documentation (same code as documentation's, other topic)
QUESTIONNAIRE_RESPONSE_RECEIVED = "questionnaire-response-received"  # QuestionnaireResponse → the course

# --- ketalink.intake.events -------------------------------------------------------------------------------------
INTAKE_ELIGIBILITY_DECIDED = "intake-eligibility-decided"
INTAKE_REOPENED = "intake-reopened"  # the decision withdrawn

# --- ketalink.orders.events: orders ------------------------------------------------------------------------------
ORDER_SIGNED = "order-signed"
ORDER_CHANGED = "order-changed"
ORDER_CANCELLED = "order-cancelled"
CPOE_ORDER_RESPONSE = "cpoe-order-response"  # the response message to a cpoe-order-placed

# --- ketalink.orders.events: the treatment course ----------------------------------------------------------------
COURSE_CHANGED = "course-changed"
SUICIDALITY_ALERT = "suicidality-alert"
SCORE_RECORDED = "score-recorded"
RESPONSE_REACHED = "response-reached"
REMISSION_REACHED = "remission-reached"
LOSS_OF_RESPONSE = "loss-of-response"
RELAPSE_AFTER_REMISSION = "relapse-after-remission"
REEVALUATION_DUE = "reevaluation-due"
SUICIDALITY_ALERT_ACKNOWLEDGED = "suicidality-alert-acknowledged"
# No longer sent: ``relapse`` meant a loss of response (issue 13). Kept so an answer to one sent before is handled.
LEGACY_RELAPSE = "relapse"

# --- ketalink.documentation.events -------------------------------------------------------------------------------
SESSION_STARTED = "session-started"
VITALS_RECORDED = "vitals-recorded"
ALERT_RAISED = "alert-raised"
SESSION_COMPLETED = "session-completed"
NOTE_SIGNED = "note-signed"

ORDER_EVENT_CODES = (ORDER_SIGNED, ORDER_CHANGED, ORDER_CANCELLED)
COURSE_EVENT_CODES = (COURSE_CHANGED, SUICIDALITY_ALERT, SCORE_RECORDED, RESPONSE_REACHED, REMISSION_REACHED,
                      LOSS_OF_RESPONSE, RELAPSE_AFTER_REMISSION, REEVALUATION_DUE, SUICIDALITY_ALERT_ACKNOWLEDGED)
LEGACY_COURSE_EVENT_CODES = (LEGACY_RELAPSE,)
SUICIDALITY_ALERT_EVENT_CODES = (SUICIDALITY_ALERT, SUICIDALITY_ALERT_ACKNOWLEDGED)

# Topic → the codes sent on it now. Legacy codes are listed apart: nothing sends them, answers to old ones may come.
CODES_BY_TOPIC: dict[str, tuple[str, ...]] = {
    topics.EHR_EVENTS: (REFERRAL_REQUESTED, CPOE_ORDER_PLACED, WEIGHT_RECORDED, EHR_VITALS_RECORDED,
                        QUESTIONNAIRE_RESPONSE_RECEIVED),
    topics.INTAKE_EVENTS: (INTAKE_ELIGIBILITY_DECIDED, INTAKE_REOPENED),
    topics.ORDERS_EVENTS: (*ORDER_EVENT_CODES, CPOE_ORDER_RESPONSE, *COURSE_EVENT_CODES),
    topics.DOCUMENTATION_EVENTS: (SESSION_STARTED, VITALS_RECORDED, ALERT_RAISED, SESSION_COMPLETED, NOTE_SIGNED),
    topics.EHR_RESPONSES: (),  # answers carry the code of the message they answer
}
LEGACY_CODES_BY_TOPIC: dict[str, tuple[str, ...]] = {topics.ORDERS_EVENTS: LEGACY_COURSE_EVENT_CODES}
# The one code two topics carry, on purpose: the EHR's vitals and documentation's vitals are both "vitals-recorded".
SHARED_BY_TOPICS: frozenset[str] = frozenset({VITALS_RECORDED})


def all_codes() -> frozenset[str]:
    """Every code, legacy ones included."""
    return frozenset(code for group in (*CODES_BY_TOPIC.values(), *LEGACY_CODES_BY_TOPIC.values())
                     for code in group)
