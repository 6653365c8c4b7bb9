"""CDS Hooks 2.0 cards for a draft ketamine MedicationRequest (``order-select`` and ``order-sign``), decided by the
orders domain's own rules: the draft is read by the CPOE translator (``prescribed_infusion``) and checked by
``check_cpoe_order``, the function that accepts or rejects an order placed in the EHR's CPOE, with the patient's
facts; a running series by ``running_series_violation`` (as order sign and the CPOE handler). Each reason the domain
gives lands on exactly one card by the field it names (an unknown field on the order-details card, never dropped), so
a card cannot say less than the CPOE check would refuse, and a clinic setting changed changes the card.

Indicators: reasons about the patient (eligibility, weight, weight basis, a running series, an absolute
contraindication on the EHR's problem list, ketamine ordered elsewhere, an open suicidality alert, an unreadable
order) are ``critical`` at both hooks; a relative contraindication on the problem list is a ``warning`` (the intake's
rule: a prescriber reviews it). Reasons about what the draft says (dose, product,
indication, route, infusions) are ``warning`` at ``order-select`` (the prescriber is still composing) and
``critical`` at ``order-sign`` (stricter: the order is about to be signed and would be refused by the CPOE check).
A medication that interacts with ketamine (``domain/interactions.py``, the intake's rule) is a warning while
composing and critical at sign; one of the clinic's blocking classes is critical at both.
Every critical card carries the clinic's ``overrideReasons``. A protocol-correct order gives no card."""
from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass, replace
from typing import Any

from shared.errors import FieldInputError, Violation
from services.orders.cds_hooks import ehr_findings as findings
from services.orders.cds_hooks.context import CARD_TOPIC_SYSTEM, OVERRIDE_REASON_SYSTEM, UNCONFIRMED_WEIGHT, \
    CardSettings, PatientContext
from services.orders.cds_hooks.suggestions import protocol_correct_request, update_suggestion
from services.orders.domain.cpoe import check_cpoe_order
from services.orders.domain.interactions import BLOCKING, INTERACTING, interacting_medication_violations
from services.orders.domain.order import running_series_violation
from services.orders.domain.prescribed import PrescribedInfusion
from services.orders.translators.medication_request_in import prescribed_infusion

MAX_SUMMARY = 139  # CDS Hooks: summary "<140 characters"


class Hook(enum.Enum):
    ORDER_SELECT = "order-select"
    ORDER_SIGN = "order-sign"


class Indicator(enum.Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Topic:
    """One kind of card: its code, summary, the protocol settings its rule uses (shown in the detail), whether it is
    about the patient (critical at both hooks) and whether the protocol-correct order can fix it."""

    code: str
    summary: str
    settings: tuple[str, ...]
    about_patient: bool
    correctable: bool


DOSE = Topic("dose", "Ketamine dose or duration outside the clinic protocol",
             ("min_dose_mg_per_kg", "max_dose_mg_per_kg", "override_max_dose_mg_per_kg", "min_duration_min",
              "max_duration_min", "dose_cap_mg", "dose_rounding_mg", "rate_rounding_ml_per_h",
              "drawn_dose_tolerance_percent"), False, True)
WEIGHT = Topic("weight", "Body weight missing, implausible or too old for a ketamine dose",
               ("weight_max_age_days", "weight_plausible_range_kg"), True, False)
WEIGHT_BASIS = Topic("weight-basis", "The dosing weight basis cannot be applied as the clinic doses",
                     ("weight_basis", "adjusted_weight_factor"), True, False)
PRODUCT = Topic("product", "Ketamine product or concentration not stocked by the clinic",
                ("stocked_products", "dosing_product"), False, True)
ELIGIBILITY = Topic("eligibility", "Patient not eligible for ketamine, or no eligibility decision or consent",
                    (), True, False)
INDICATION = Topic("indication", "Order reason is not the clinic's indication for ketamine", (), False, True)
SERIES = Topic("series", "Number or spacing of infusions outside the clinic's induction",
               ("induction_infusion_count", "induction_max_infusions", "induction_infusions_per_week",
                "induction_max_span_days", "series_start_max_days_ahead"), False, True)
WEIGHT_UNCONFIRMED = Topic("weight-unconfirmed", "A newer body weight in the EHR is not confirmed and is not used "
                           "for the dose", ("weight_max_age_days",), False, False)
BASIS_USED = Topic("weight-basis-used", "Dosed on the actual weight: it is below the ideal weight the clinic doses on",
                   ("weight_basis", "adjusted_weight_factor"), False, False)
RUNNING_SERIES = Topic("running-series", "The patient already has a signed ketamine series", (), True, False)
INTERACTION = Topic("interaction", "The patient takes a medication that interacts with ketamine",
                    ("blocking_interacting_drug_classes",), False, False)
INTERACTION_BLOCKING = Topic("interaction-blocking", "The patient takes a medication the clinic does not combine "
                             "with ketamine", ("blocking_interacting_drug_classes",), True, False)
CONTRAINDICATION = Topic("contraindication", "Absolute contraindication to ketamine recorded in the EHR", (), True,
                         False)
CONTRAINDICATION_RELATIVE = Topic("contraindication-relative", "Relative contraindication to ketamine recorded in "
                                  "the EHR: review before ordering", (), True, False)
KETAMINE_ELSEWHERE = Topic("ketamine-elsewhere", "Another active ketamine order for this patient in the EHR", (),
                           True, False)
SUICIDALITY = Topic("suicidality", "Open suicidality alert: review it before ordering ketamine", (), True, False)
ORDER_DETAILS = Topic("order-details", "The ketamine order cannot be accepted as written", (), False, True)
UNREADABLE = Topic("unreadable", "The draft ketamine order cannot be read against the clinic protocol", (), True,
                   False)
TOPICS = (DOSE, WEIGHT, WEIGHT_UNCONFIRMED, WEIGHT_BASIS, BASIS_USED, PRODUCT, ELIGIBILITY, INDICATION, SERIES,
          RUNNING_SERIES, KETAMINE_ELSEWHERE, CONTRAINDICATION, CONTRAINDICATION_RELATIVE, INTERACTION_BLOCKING,
          INTERACTION, SUICIDALITY, ORDER_DETAILS, UNREADABLE)

# Cards that are never critical: the order is dosed by the protocol, the card says on what.
ADVISORY = {BASIS_USED: Indicator.INFO,  # the domain fell back to the actual weight, below the ideal
            WEIGHT_UNCONFIRMED: Indicator.WARNING,  # the confirmed weight is used; a newer one is pending
            CONTRAINDICATION_RELATIVE: Indicator.WARNING}  # the intake's rule: a prescriber reviews a relative one

_FIELD_TOPICS = {"mg_per_kg": DOSE, "duration_min": DOSE, "dose_mg": DOSE, "rate_ml_per_h": DOSE,
                 "drug_volume_ml": DOSE, "height": WEIGHT_BASIS, "sex": WEIGHT_BASIS, "medication": PRODUCT,
                 "reason": INDICATION, "infusion_count": SERIES, "infusions_per_week": SERIES, "start_date": SERIES,
                 "patient_id": RUNNING_SERIES, "suicidality": SUICIDALITY,
                 INTERACTING: INTERACTION, BLOCKING: INTERACTION_BLOCKING, findings.ABSOLUTE: CONTRAINDICATION,
                 findings.RELATIVE: CONTRAINDICATION_RELATIVE, findings.KETAMINE_ELSEWHERE: KETAMINE_ELSEWHERE}
BASIS_NOTE = "basis"  # the field of the dose calculation's note on the weight basis used
_FIELD_TOPICS[BASIS_NOTE] = BASIS_USED


@dataclass(frozen=True)
class Card:
    """One CDS Hooks card; ``json()`` is its wire form."""

    topic: Topic
    indicator: Indicator
    detail: str
    source: dict[str, Any]
    suggestions: tuple[dict[str, Any], ...]
    links: tuple[dict[str, Any], ...]
    override_reasons: tuple[dict[str, Any], ...]
    uuid: str

    @property
    def summary(self) -> str:
        return self.topic.summary[:MAX_SUMMARY]

    def json(self) -> dict[str, Any]:
        card: dict[str, Any] = {"uuid": self.uuid, "summary": self.summary, "detail": self.detail,
                                "indicator": self.indicator.value, "source": self.source}
        if self.suggestions:
            card["suggestions"] = list(self.suggestions)
            card["selectionBehavior"] = "at-most-one"
        if self.override_reasons:
            card["overrideReasons"] = list(self.override_reasons)
        if self.links:
            card["links"] = list(self.links)
        return card


def topic_of(field: str) -> Topic:
    """The card a domain reason belongs on, by the field it names (``weight.measured_at`` → weight)."""
    if field.startswith("eligibility"):
        return ELIGIBILITY
    if field == UNCONFIRMED_WEIGHT:
        return WEIGHT_UNCONFIRMED
    if field.startswith("weight"):
        return WEIGHT
    return _FIELD_TOPICS.get(field.split(".")[0], ORDER_DETAILS)


def cards_for(draft: dict[str, Any], context: PatientContext, settings: CardSettings, hook: Hook) -> list[Card]:
    """The cards for one draft MedicationRequest of ``context``'s patient; empty for a protocol-correct order."""
    try:
        prescribed = prescribed_infusion(draft)
    except FieldInputError as error:
        return [_card(UNREADABLE, list(error.violations), hook, settings, context, None)]
    reasons = protocol_reasons(prescribed, context, settings)
    by_topic: dict[str, list[Violation]] = {}
    for reason in reasons:
        by_topic.setdefault(topic_of(reason.field).code, []).append(reason)
    suggestion_resource = None
    if any(t.correctable for t in TOPICS if t.code in by_topic):
        suggestion_resource = protocol_correct_request(draft, prescribed, context, settings.protocol)
    return [_card(t, by_topic[t.code], hook, settings, context, suggestion_resource)
            for t in TOPICS if t.code in by_topic]


def protocol_reasons(prescribed: PrescribedInfusion, context: PatientContext,
                     settings: CardSettings) -> list[Violation]:
    """Every reason the orders domain gives against this order for this patient now: the CPOE check (a draft is
    checked as the active order it becomes when placed), a running series and open suicidality alerts; and what the
    EHR records beside the store (``ehr_findings.py``): a stricter eligibility decision, a contraindication on the
    problem list, ketamine ordered elsewhere."""
    reasons: list[Violation] = list(context.weight_reasons)
    if prescribed.patient_id != context.patient_id:
        reasons.append(Violation("subject", "the order is for another patient than the hook's context"))
    as_placed = replace(prescribed, status="active") if prescribed.status == "draft" else prescribed
    decision = check_cpoe_order(as_placed, context.eligibility, context.weight, context.height, context.sex,
                                settings.protocol, now=context.now)
    reasons += decision.reasons
    if decision.result is not None:
        calculation = decision.result.order.calculation
        reasons += [Violation(BASIS_NOTE, note) for note in calculation.notes]  # actual weight used instead
    running = context.running_order
    if running is not None:
        reasons.append(running_series_violation(running.order.order_id, running.series.series_id,
                                                running.order.status.value))
    reasons += interacting_medication_violations(context.medications, settings.protocol)
    reasons += context.ehr_decision_reasons
    reasons += findings.ehr_decision_violations(context.eligibility, context.ehr_decision)
    reasons += findings.contraindication_violations(context.conditions, settings.contraindications)
    reasons += findings.ketamine_elsewhere_violations(context.ketamine_elsewhere)
    if context.open_suicidality_alert_ids:
        count = len(context.open_suicidality_alert_ids)
        reasons.append(Violation("suicidality", f"{count} open suicidality alert(s) on the patient's treatment "
                                                "course; acknowledge them in the orders app before ordering"))
    return reasons


def _card(topic: Topic, reasons: list[Violation], hook: Hook, settings: CardSettings, context: PatientContext,
          suggestion_resource: dict[str, Any] | None) -> Card:
    critical = topic not in ADVISORY and (topic.about_patient or hook is Hook.ORDER_SIGN)
    indicator = Indicator.CRITICAL if critical else ADVISORY.get(topic, Indicator.WARNING)
    suggestions = ()
    if topic.correctable and suggestion_resource is not None:
        suggestions = (update_suggestion(suggestion_resource),)
    return Card(
        topic=topic, indicator=indicator, detail=_detail(topic, reasons, settings), source=_source(topic, settings),
        suggestions=suggestions, links=(_app_link(settings, context),),
        override_reasons=_override_reasons(settings) if critical else (), uuid=str(uuid.uuid4()))


def _detail(topic: Topic, reasons: list[Violation], settings: CardSettings) -> str:
    # An unreadable draft's reasons name the element, or the prescriber cannot find what to correct.
    lines = [f"- {r.field}: {r.message}" if topic is UNREADABLE and r.field else f"- {r.message}" for r in reasons]
    if topic.settings:
        shown = ", ".join(f"`{name}` = {_setting_text(getattr(settings.protocol, name))}" for name in topic.settings)
        lines.append(f"\nClinic protocol settings: {shown}.")
    return "\n".join(lines)


def _setting_text(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, tuple):  # a range of numbers (low-high) or a list of names
        return "-".join(f"{v:g}" for v in value) if all(isinstance(v, float) for v in value) else ", ".join(value)
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _source(topic: Topic, settings: CardSettings) -> dict[str, Any]:
    source: dict[str, Any] = {"label": settings.source_label,
                              "topic": {"system": CARD_TOPIC_SYSTEM, "code": topic.code, "display": topic.summary}}
    if settings.protocol_url:
        source["url"] = settings.protocol_url
    return source


def _override_reasons(settings: CardSettings) -> tuple[dict[str, Any], ...]:
    return tuple({"system": OVERRIDE_REASON_SYSTEM, "code": code, "display": display}
                 for code, display in settings.override_reasons)


def _app_link(settings: CardSettings, context: PatientContext) -> dict[str, Any]:
    """The orders app on the patient: a SMART launch (the EHR adds ``iss`` and ``launch``)."""
    return {"label": "Open the Ketalink orders app", "url": settings.app_launch_url, "type": "smart",
            "appContext": json.dumps({"patient": context.patient_id})}
