"""What each event code's FHIR message carries: its topic, what it announces, and the focus resources in the order
they come after the MessageHeader. Declared once, here, beside ``event_codes.py`` and ``topics.py``: the AsyncAPI
document (``shared/events/asyncapi.py`` → docs/asyncapi.yaml) is generated from it, and
tests/unit/shared/test_asyncapi_catalogue.py checks that every code has an entry and that the messages the services
build hold what their entry says.

A focus is a sequence of parts, each a resource type with how many of it may come (``one``, ``optional``,
``any_number``, ``at_least_one``); ``focus_matches`` checks a message's resource types against it. A message
Ketalink builds ends with a Provenance for its focus (``shared.fhir.messaging.build_message``), not part of the
focus; the EHR's may have none. A response message (``MessageHeader.response`` set) has no focus: its
``response.details`` names an OperationOutcome when there is one (``response_details``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from shared.events import event_codes as codes
from shared.events import topics


@dataclass(frozen=True)
class FocusPart:
    resource_type: str
    min_count: int = 1
    max_count: int | None = 1  # None: any number
    role: str = ""  # what the resource is, when its type alone does not say

    @property
    def cardinality(self) -> str:
        upper = "*" if self.max_count is None else str(self.max_count)
        return upper if self.min_count == self.max_count else f"{self.min_count}..{upper}"


def one(resource_type: str, role: str = "") -> FocusPart:
    return FocusPart(resource_type, 1, 1, role)


def optional(resource_type: str, role: str = "") -> FocusPart:
    return FocusPart(resource_type, 0, 1, role)


def any_number(resource_type: str, role: str = "") -> FocusPart:
    return FocusPart(resource_type, 0, None, role)


def at_least_one(resource_type: str, role: str = "") -> FocusPart:
    return FocusPart(resource_type, 1, None, role)


@dataclass(frozen=True)
class EventSpec:
    code: str
    topic: str
    summary: str
    focus: tuple[FocusPart, ...] = ()
    response_details: FocusPart | None = None  # set for a response message: what ``response.details`` names
    legacy: bool = False  # no longer sent; answers to ones sent before may still come (event_codes.LEGACY_*)

    @property
    def is_response(self) -> bool:
        return self.response_details is not None

    @property
    def resource_types(self) -> tuple[str, ...]:
        """The resource types that may follow the MessageHeader, each once, in order of first appearance."""
        parts = (*self.focus, *((self.response_details,) if self.response_details else ()))
        return tuple(dict.fromkeys(part.resource_type for part in parts))


def focus_matches(focus: tuple[FocusPart, ...], resource_types: list[str]) -> bool:
    """Whether ``resource_types`` (a message's focus, in order) is what ``focus`` declares."""
    pattern = "".join(
        f"(?:{re.escape(part.resource_type)},){{{part.min_count},{'' if part.max_count is None else part.max_count}}}"
        for part in focus)
    return re.fullmatch(pattern, "".join(f"{t}," for t in resource_types)) is not None


_ORDER = (one("MedicationRequest", "the infusion order"), one("CarePlan", "the series"))
_SCORE_EVIDENCE = (optional("QuestionnaireResponse", "the score's answers, when answered in Ketalink"),
                   one("Observation", "the score"), any_number("Goal", "the course's goals with their achievement"))

_CATALOGUE: tuple[EventSpec, ...] = (
    # ehr.events: written to the EHR first, then announced; the services read them back by id.
    EventSpec(codes.REFERRAL_REQUESTED, topics.EHR_EVENTS,
              "A referral for ketamine evaluation: starts an intake.", (one("ServiceRequest"),)),
    EventSpec(codes.CPOE_ORDER_PLACED, topics.EHR_EVENTS,
              "A ketamine order placed in the EHR's CPOE: orders checks it and answers cpoe-order-response.",
              (one("MedicationRequest"),)),
    EventSpec(codes.WEIGHT_RECORDED, topics.EHR_EVENTS, "A body weight recorded in the EHR.",
              (one("Observation", "body weight, LOINC 29463-7"),)),
    EventSpec(codes.EHR_VITALS_RECORDED, topics.EHR_EVENTS,
              "Vital signs recorded in the EHR or by a device during an infusion session.",
              (at_least_one("Observation", "vital signs"),)),
    EventSpec(codes.QUESTIONNAIRE_RESPONSE_RECEIVED, topics.EHR_EVENTS,
              "Questionnaires answered in the EHR (a portal): orders scores them on the patient's course.",
              (at_least_one("QuestionnaireResponse"),)),
    # ketalink.intake.events
    EventSpec(codes.INTAKE_ELIGIBILITY_DECIDED, topics.INTAKE_EVENTS,
              "An intake's eligibility decision, with the consent and the screening it rests on.",
              (one("RiskAssessment", "the decision (identifier kind eligibility)"), one("Consent"),
               any_number("Observation", "baseline vitals and scale totals"),
               any_number("QuestionnaireResponse", "screening and scales"),
               any_number("Condition", "treatment-resistant depression"),
               any_number("Flag", "a present contraindication"))),
    EventSpec(codes.INTAKE_REOPENED, topics.INTAKE_EVENTS,
              "An intake reopened: its decision withdrawn (RiskAssessment status cancelled).",
              (one("RiskAssessment", "the withdrawn decision"),)),
    # ketalink.orders.events: orders
    EventSpec(codes.ORDER_SIGNED, topics.ORDERS_EVENTS, "An infusion order signed.", _ORDER),
    EventSpec(codes.ORDER_CHANGED, topics.ORDERS_EVENTS,
              "An order held, resumed or completed, or an infusion of its series recorded or rescheduled.", _ORDER),
    EventSpec(codes.ORDER_CANCELLED, topics.ORDERS_EVENTS, "An order cancelled.", _ORDER),
    EventSpec(codes.CPOE_ORDER_RESPONSE, topics.ORDERS_EVENTS,
              "The answer to a cpoe-order-placed: ok naming the new order, or fatal-error with the reasons.",
              response_details=one("OperationOutcome")),
    # ketalink.orders.events: the treatment course
    EventSpec(codes.COURSE_CHANGED, topics.ORDERS_EVENTS,
              "The course changed (started, an infusion, a decision, a referral, a therapy session, a task).",
              (one("CarePlan", "the course"), any_number("Goal"), any_number("ServiceRequest", "a referral"),
               any_number("Task"))),
    EventSpec(codes.SUICIDALITY_ALERT, topics.ORDERS_EVENTS,
              "A new suicidality alert, sent on its own before the answer to the request that raised it.",
              (one("DetectedIssue", "the alert"),
               optional("QuestionnaireResponse", "the score's answers, when answered in Ketalink"),
               one("Observation", "the score"))),
    EventSpec(codes.SCORE_RECORDED, topics.ORDERS_EVENTS, "A new or rescored scale score or C-SSRS screener.",
              _SCORE_EVIDENCE),
    EventSpec(codes.RESPONSE_REACHED, topics.ORDERS_EVENTS, "The primary scale's outcome became response.",
              _SCORE_EVIDENCE),
    EventSpec(codes.REMISSION_REACHED, topics.ORDERS_EVENTS, "The primary scale's outcome became remission.",
              _SCORE_EVIDENCE),
    EventSpec(codes.LOSS_OF_RESPONSE, topics.ORDERS_EVENTS, "A loss of response confirmed after a response.",
              _SCORE_EVIDENCE),
    EventSpec(codes.RELAPSE_AFTER_REMISSION, topics.ORDERS_EVENTS, "A relapse confirmed after remission.",
              _SCORE_EVIDENCE),
    EventSpec(codes.REEVALUATION_DUE, topics.ORDERS_EVENTS, "A re-evaluation task opened.",
              (one("Task", "the re-evaluation"), one("CarePlan", "the course"))),
    EventSpec(codes.SUICIDALITY_ALERT_ACKNOWLEDGED, topics.ORDERS_EVENTS,
              "The prescriber acknowledged a suicidality alert.",
              (one("DetectedIssue", "the alert with its mitigation"),)),
    EventSpec(codes.LEGACY_RELAPSE, topics.ORDERS_EVENTS,
              "The name loss-of-response had before issue 13: no longer sent; the EHR's answers to ones sent "
              "before may still come on ehr.responses.", _SCORE_EVIDENCE, legacy=True),
    # ketalink.documentation.events
    EventSpec(codes.SESSION_STARTED, topics.DOCUMENTATION_EVENTS,
              "A patient checked in for an infusion, and again when the infusion started.",
              (one("Encounter", "the infusion visit"), optional("Procedure", "the infusion, once started"))),
    EventSpec(codes.VITALS_RECORDED, topics.DOCUMENTATION_EVENTS,
              "A reading taken in Ketalink (pre-infusion check or flowsheet).",
              (at_least_one("Observation", "vital signs"),)),
    EventSpec(codes.ALERT_RAISED, topics.DOCUMENTATION_EVENTS, "An alert raised during a session.",
              (one("Flag", "the alert"), any_number("Observation", "the reading that raised it"))),
    EventSpec(codes.SESSION_COMPLETED, topics.DOCUMENTATION_EVENTS,
              "A session ended (discharge, defer, abort), and again when documentation is added afterwards.",
              (one("Encounter", "the infusion visit"), one("Procedure", "the infusion"),
               optional("MedicationAdministration", "the infusion given"),
               any_number("Observation", "vital signs and CADSS"), any_number("AdverseEvent"),
               any_number("Flag", "the session's alerts"),
               any_number("MedicationAdministration", "a rescue medication"),
               optional("Provenance", "the waste witness of the controlled-substance record"),
               optional("Task", "the follow-up call"))),
    EventSpec(codes.NOTE_SIGNED, topics.DOCUMENTATION_EVENTS, "A procedure note signed (an amendment is a new note, signed in turn).",
              (one("DocumentReference", "the note"), one("Provenance", "the signature"))),
)

# (topic, code) → what its message carries; ``vitals-recorded`` is on two topics (event_codes.SHARED_BY_TOPICS).
CATALOGUE: dict[tuple[str, str], EventSpec] = {(spec.topic, spec.code): spec for spec in _CATALOGUE}

# What the EHR's integration engine answers on ehr.responses: ok (applied), transient-error (try again later) or
# fatal-error (refused; the reasons in the OperationOutcome), under the event code of the message it answers.
RESPONSE_DETAILS = optional("OperationOutcome", "why a message was refused")


def specs_on(topic: str, *, include_legacy: bool = False) -> list[EventSpec]:
    """The entries of the codes sent on ``topic``, in ``event_codes.CODES_BY_TOPIC`` order."""
    sent = codes.CODES_BY_TOPIC.get(topic, ())
    legacy = codes.LEGACY_CODES_BY_TOPIC.get(topic, ()) if include_legacy else ()
    return [CATALOGUE[(topic, code)] for code in (*sent, *legacy)]
