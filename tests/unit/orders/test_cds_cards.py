"""CDS Hooks cards for a draft ketamine order (``services/orders/cds_hooks/cards.py``): one card per broken protocol
rule, decided by the orders domain's own CPOE check, and none for a protocol-correct order. Drafts are real FHIR R4
MedicationRequests in the contract's shape (``builders.cpoe_medication_request``) as the EHR's order entry sends
them (status ``draft``); the suggested MedicationRequest is validated with the fhir.resources R4B model and fed
back through the same check."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.riskassessment import RiskAssessment

from shared.contraindications import DEFAULT_ABSOLUTE_CONTRAINDICATIONS, ICD10CM, ContraindicationSettings
from shared.fhir.codes import CONDITION_CLINICAL, CONDITION_VERIFICATION, KETALINK_LOCAL, RXNORM, SNOMED
from shared.fhir.datatypes import codeable_concept, identifier, instant, quantity, reference
from shared.fhir.medication import product_medication, product_reference
from services.orders.cds_hooks.ehr_findings import conditions_from_fhir, ehr_decision_from_fhir, \
    ketamine_orders_from_fhir, pregnancy_status_from_fhir
from services.orders.cds_hooks.cards import MAX_SUMMARY, TOPICS, Card, Hook, cards_for
from services.orders.cds_hooks.context import OVERRIDE_REASON_SYSTEM, CardSettings, PatientContext, \
    medications_from_fhir, weight_from_fhir
from services.orders.domain.cpoe import check_cpoe_order
from services.orders.domain.eligibility import EligibilityStatus
from services.orders.domain.measurements import Sex
from services.orders.domain.settings import WeightBasis
from services.orders.translators.codes import KETAMINE_ELIGIBILITY
from services.orders.translators.medication_request_in import prescribed_infusion
from tests.unit.orders.builders import NOW, PATIENT, cpoe_medication_request, eligibility, height, settings, \
    signed, weight, weight_observation

LAUNCH_URL = "https://orders.ketalink.example.org/launch"
PROTOCOL_URL = "https://clinic.example.org/protocols/ketamine-iv"


def card_settings(**protocol: Any) -> CardSettings:
    built = CardSettings(settings(**protocol), LAUNCH_URL, PROTOCOL_URL)
    built.validate()
    return built


def context(**overrides: Any) -> PatientContext:
    values: dict[str, Any] = {"patient_id": PATIENT, "now": NOW, "weight": weight(), "eligibility": eligibility()}
    values.update(overrides)
    return PatientContext(**values)


def draft(mg_per_kg: float = 0.5, dose_mg: float = 40, rate: float = 156, minutes: int = 40,
          **overrides: Any) -> dict[str, Any]:
    """The EHR's draft: 0.5 mg/kg × 80 kg = 40 mg of ketamine 10 mg/mL in 100 + 4 mL over 40 min = 156 mL/h."""
    resource = cpoe_medication_request(status="draft", **overrides)
    dose_and_rate = resource["dosageInstruction"][0]["doseAndRate"]
    dose_and_rate[0]["doseQuantity"] = quantity(mg_per_kg, "mg/kg")
    dose_and_rate[0]["rateRatio"] = {"numerator": quantity(mg_per_kg, "mg/kg"), "denominator": quantity(minutes, "min")}
    dose_and_rate[1]["doseQuantity"] = quantity(dose_mg, "mg")
    dose_and_rate[1]["rateQuantity"] = quantity(rate, "mL/h")
    resource["dosageInstruction"][0]["timing"]["repeat"]["duration"] = minutes
    return resource


def cards(resource: dict[str, Any], patient: PatientContext | None = None, hook: Hook = Hook.ORDER_SIGN,
          protocol: CardSettings | None = None) -> dict[str, dict[str, Any]]:
    """The cards as their wire JSON, by topic code (each topic at most once)."""
    found: list[Card] = cards_for(resource, patient or context(), protocol or card_settings(), hook)
    by_code = {c.topic.code: c.json() for c in found}
    assert len(by_code) == len(found)
    return by_code


def the_card(resource: dict[str, Any], code: str, **kwargs: Any) -> dict[str, Any]:
    found = cards(resource, **kwargs)
    assert code in found, f"no {code} card among {sorted(found)}"
    return found[code]


def suggested(card: dict[str, Any]) -> dict[str, Any]:
    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    assert action["type"] == "update"
    MedicationRequest.model_validate(action["resource"])  # a valid FHIR R4 MedicationRequest
    return action["resource"]


def accepted_by_the_cpoe_check(resource: dict[str, Any], protocol: CardSettings | None = None) -> bool:
    placed = dict(resource, status="active")
    decision = check_cpoe_order(prescribed_infusion(placed), eligibility(), weight(), None, None,
                                (protocol or card_settings()).protocol, now=NOW)
    return decision.accepted


# --- the card-free order -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("hook", list(Hook))
def test_a_protocol_correct_order_gives_no_card(hook: Hook) -> None:
    assert cards(draft(), hook=hook) == {}
    assert accepted_by_the_cpoe_check(draft())


# --- dose ----------------------------------------------------------------------------------------------------------
def test_a_dose_above_the_clinic_maximum_is_critical_at_sign_with_override_reasons_and_a_suggestion() -> None:
    card = the_card(draft(mg_per_kg=1.2, dose_mg=96), "dose")
    assert card["indicator"] == "critical"
    assert "1.2 mg/kg is above the clinic maximum of 1.0 mg/kg" in card["detail"]
    assert "`max_dose_mg_per_kg` = 1" in card["detail"]
    assert card["overrideReasons"] and {r["system"] for r in card["overrideReasons"]} == {OVERRIDE_REASON_SYSTEM}
    assert card["selectionBehavior"] == "at-most-one"
    fixed = suggested(card)
    ordered, calculated = fixed["dosageInstruction"][0]["doseAndRate"]
    assert ordered["doseQuantity"]["value"] == 0.5 and calculated["doseQuantity"]["value"] == 40
    assert calculated["rateQuantity"]["value"] == 156
    assert fixed["id"] == "ehr-mr-9" and fixed["status"] == "draft" and fixed["subject"] == reference("Patient",
                                                                                                       PATIENT)
    assert {"reference": "Observation/weight-1"} in fixed["supportingInformation"]
    assert "basedOn" not in fixed and "identifier" not in fixed  # no Ketalink series or order exists yet
    assert cards(fixed) == {}  # accepting the suggestion leaves no card
    assert accepted_by_the_cpoe_check(fixed)


def test_the_dose_card_is_a_warning_while_composing() -> None:
    card = the_card(draft(mg_per_kg=1.2, dose_mg=96), "dose", hook=Hook.ORDER_SELECT)
    assert card["indicator"] == "warning" and "overrideReasons" not in card
    assert card["suggestions"]


def test_a_dose_below_the_clinic_minimum_gets_a_card() -> None:
    card = the_card(draft(mg_per_kg=0.05, dose_mg=4), "dose")
    assert "below the clinic minimum of 0.1 mg/kg" in card["detail"]
    assert suggested(card)["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 0.5


def test_a_stated_mg_dose_that_another_weight_gave_gets_a_card() -> None:
    card = the_card(draft(dose_mg=30), "dose")  # 0.5 mg/kg of 60 kg, not of the latest 80 kg
    assert "states 30 mg but 0.5 mg/kg of the latest weight gives 40 mg" in card["detail"]
    assert cards(suggested(card)) == {}


def test_a_pump_rate_from_another_duration_gets_a_card() -> None:
    assert "mL/h" in the_card(draft(rate=104), "dose")["detail"]


def test_a_duration_outside_the_clinic_range_keeps_the_dose_and_suggests_the_default_duration() -> None:
    card = the_card(draft(minutes=20, rate=312), "dose")
    assert "20 min is outside the clinic's 40-60 min" in card["detail"]
    fixed = suggested(card)
    assert fixed["dosageInstruction"][0]["timing"]["repeat"]["duration"] == 40


# --- weight --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("hook", list(Hook))
def test_no_weight_is_critical_at_both_hooks_and_offers_only_the_app(hook: Hook) -> None:
    card = the_card(draft(), "weight", patient=context(weight=None), hook=hook)
    assert card["indicator"] == "critical" and card["overrideReasons"]
    assert "no body weight is recorded" in card["detail"]
    assert "suggestions" not in card
    (link,) = card["links"]
    assert link["type"] == "smart" and link["url"] == LAUNCH_URL
    assert json.loads(link["appContext"]) == {"patient": PATIENT}


def test_a_stale_weight_gets_a_card_naming_the_clinic_window() -> None:
    card = the_card(draft(), "weight", patient=context(weight=weight(days_ago=31)))
    assert "older than 30 days" in card["detail"] and "`weight_max_age_days` = 30" in card["detail"]


def test_an_implausibly_low_weight_gets_a_card() -> None:
    card = the_card(draft(dose_mg=9, rate=151), "weight", patient=context(weight=weight(kg=18)))
    assert "(18 kg) is outside the plausible 20-400 kg" in card["detail"]
    assert "`weight_plausible_range_kg` = 20-400" in card["detail"]


def test_a_weight_dated_in_the_future_gets_a_card() -> None:
    assert "future" in the_card(draft(), "weight", patient=context(weight=weight(days_ago=-1)))["detail"]


# --- weight basis --------------------------------------------------------------------------------------------------
def test_ideal_weight_dosing_without_height_or_sex_gets_a_critical_card() -> None:
    protocol = card_settings(weight_basis=WeightBasis.IDEAL)
    card = the_card(draft(), "weight-basis", protocol=protocol)
    assert card["indicator"] == "critical"
    assert "needs a recorded height" in card["detail"] and "`weight_basis` = ideal" in card["detail"]


def test_a_patient_lighter_than_ideal_weight_gets_an_info_card_that_the_actual_weight_is_used() -> None:
    protocol = card_settings(weight_basis=WeightBasis.IDEAL)
    patient = context(weight=weight(kg=60), height=height(), sex=Sex.MALE)  # 177.8 cm male: IBW 73 kg
    found = cards(draft(dose_mg=30, rate=154.5), patient=patient, protocol=protocol)
    assert list(found) == ["weight-basis-used"]
    assert found["weight-basis-used"]["indicator"] == "info"
    assert "below ideal body weight" in found["weight-basis-used"]["detail"]


# --- product, indication, order details ----------------------------------------------------------------------------
def test_a_product_the_clinic_does_not_stock_gets_a_card_and_the_stocked_product_is_suggested() -> None:
    product = "ketamine 100 mg/mL injection"
    card = the_card(draft(contained=[product_medication(100.0, product, "238083")],
                          medicationReference=product_reference(product)), "product")
    assert "stocks no ketamine product coded RxNorm 238083" in card["detail"]
    assert "`stocked_products` = ketamine-10, `dosing_product` = ketamine-10" in card["detail"]
    fixed = suggested(card)
    assert prescribed_infusion(fixed).medication_strength_mg_per_ml == 10
    assert cards(fixed) == {}


def test_a_reason_other_than_the_clinic_indication_gets_a_card() -> None:
    reason = [{"coding": [{"system": SNOMED, "code": "35489007", "display": "Depressive disorder"}]}]
    card = the_card(draft(reasonCode=reason), "indication")
    assert "is not the clinic's indication" in card["detail"]
    assert cards(suggested(card)) == {}


def test_a_route_other_than_intravenous_gets_an_order_details_card() -> None:
    resource = draft()
    resource["dosageInstruction"][0]["route"] = {"coding": [{"system": SNOMED, "code": "26643006"}]}
    assert "intravenous" in the_card(resource, "order-details")["detail"]


def test_a_draft_that_cannot_be_read_gets_a_critical_card_not_an_error() -> None:
    resource = draft()
    resource["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"] = quantity(0.5, "mg/h")
    card = the_card(resource, "unreadable", hook=Hook.ORDER_SELECT)
    assert card["indicator"] == "critical" and "suggestions" not in card


def test_an_order_for_another_patient_than_the_hook_context_gets_a_card() -> None:
    assert "another patient" in the_card(draft(), "order-details",
                                         patient=context(patient_id="patient-2",
                                                         eligibility=eligibility(patient_id="patient-2")))["detail"]


# --- eligibility ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("decision", "says"), [
    (None, "no intake eligibility decision"),
    (eligibility(status=EligibilityStatus.NOT_ELIGIBLE), "not eligible"),
    (eligibility(status=EligibilityStatus.NEEDS_REVIEW), "needs a clinician's review"),
    (eligibility(status=EligibilityStatus.WITHDRAWN, consent_on_file=False), "withdrawn"),
    (eligibility(consent_on_file=False), "no signed consent"),
])
@pytest.mark.parametrize("hook", list(Hook))
def test_no_eligible_decision_is_critical_at_both_hooks(decision: Any, says: str, hook: Hook) -> None:
    card = the_card(draft(), "eligibility", patient=context(eligibility=decision), hook=hook)
    assert card["indicator"] == "critical" and says in card["detail"] and card["overrideReasons"]
    assert "suggestions" not in card  # no protocol-correct order exists for a patient not eligible


# --- series --------------------------------------------------------------------------------------------------------
def test_more_infusions_than_the_induction_allows_gets_a_card_and_the_clinic_count_is_suggested() -> None:
    card = the_card(draft(dispenseRequest={"numberOfRepeatsAllowed": 9}), "series")
    assert "10 infusions is outside 1-8" in card["detail"]
    assert suggested(card)["dispenseRequest"]["numberOfRepeatsAllowed"] == 5


def test_a_series_that_breaks_the_clinic_span_gets_a_card() -> None:
    protocol = card_settings(induction_max_span_days=21)
    card = the_card(draft(dispenseRequest={"numberOfRepeatsAllowed": 6}), "series", protocol=protocol)
    assert "more than the clinic's 21" in card["detail"]


@pytest.mark.parametrize("hook", list(Hook))
def test_a_running_series_is_critical_at_both_hooks(hook: Hook) -> None:
    card = the_card(draft(), "running-series", patient=context(running_order=signed()), hook=hook)
    assert card["indicator"] == "critical" and "already has a signed series (series-1" in card["detail"]


# --- suicidality ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("hook", list(Hook))
def test_an_open_suicidality_alert_is_critical_at_both_hooks(hook: Hook) -> None:
    card = the_card(draft(), "suicidality", patient=context(open_suicidality_alert_ids=("alert-1",)), hook=hook)
    assert card["indicator"] == "critical" and card["overrideReasons"]
    assert card["links"][0]["type"] == "smart"


# --- one source of truth -------------------------------------------------------------------------------------------
def test_a_clinic_setting_changes_the_card_so_the_cards_use_the_domain_rules() -> None:
    assert cards(draft()) == {}
    lower_maximum = card_settings(max_dose_mg_per_kg=0.4, default_dose_mg_per_kg=0.4)
    card = the_card(draft(), "dose", protocol=lower_maximum)
    assert "above the clinic maximum of 0.4 mg/kg" in card["detail"]
    assert suggested(card)["dosageInstruction"][0]["doseAndRate"][1]["doseQuantity"]["value"] == 32
    shorter_weight_window = card_settings(weight_max_age_days=1)
    assert "older than 1 days" in the_card(draft(), "weight", protocol=shorter_weight_window)["detail"]
    stock_100 = card_settings(stocked_products=("ketamine-10", "ketamine-100"))
    product = "ketamine 100 mg/mL injection"
    hundred = draft(contained=[product_medication(100.0, product, "238083")],
                    medicationReference=product_reference(product))
    assert "product" in cards(draft(contained=hundred["contained"],
                                    medicationReference=hundred["medicationReference"]))
    assert "product" not in cards(hundred, protocol=stock_100)


def test_every_reason_the_cpoe_check_gives_is_on_a_card() -> None:
    """The false negative: a reason the CPOE check would refuse the order for, missing from the cards."""
    resource = draft(mg_per_kg=1.2, dose_mg=96, dispenseRequest={"numberOfRepeatsAllowed": 9})
    resource["dosageInstruction"][0]["route"] = {"coding": [{"system": SNOMED, "code": "26643006"}]}
    patient = context(weight=weight(days_ago=40), eligibility=eligibility(consent_on_file=False))
    found = cards_for(resource, patient, card_settings(), Hook.ORDER_SIGN)
    details = "\n".join(c.detail for c in found)
    decision = check_cpoe_order(replace(prescribed_infusion(resource), status="active"), patient.eligibility,
                                patient.weight, None, None, card_settings().protocol, now=NOW)
    assert decision.reasons
    assert [r.message for r in decision.reasons if r.message not in details] == []


def test_every_card_has_the_spec_fields_and_a_short_summary() -> None:
    assert all(len(t.summary) <= MAX_SUMMARY for t in TOPICS)
    patient = context(weight=weight(days_ago=40), eligibility=None, open_suicidality_alert_ids=("a",),
                      running_order=signed())
    for card in cards(draft(mg_per_kg=2), patient=patient).values():
        assert {"uuid", "summary", "detail", "indicator", "source", "links"} <= set(card)
        assert card["source"]["label"] and card["source"]["url"] == PROTOCOL_URL
        assert card["source"]["topic"]["code"]


# --- interacting medications ---------------------------------------------------------------------------------------
LORAZEPAM = {"resourceType": "MedicationStatement", "id": "ms-1", "status": "active",
             "medicationCodeableConcept": {"text": "Lorazepam 1 MG Oral Tablet"},
             "subject": reference("Patient", PATIENT)}
LAMOTRIGINE = {"resourceType": "MedicationRequest", "id": "mr-2", "status": "active", "intent": "order",
               "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "28439"}]},
               "subject": reference("Patient", PATIENT)}


def test_a_current_interacting_medication_gets_a_card_by_name_or_code() -> None:
    medications = medications_from_fhir([LORAZEPAM, LAMOTRIGINE, draft()], exclude_id="ehr-mr-9")
    MedicationStatement.model_validate(LORAZEPAM)  # real FHIR R4 resources as the prefetch carries them
    MedicationRequest.model_validate(LAMOTRIGINE)
    patient = context(medications=medications)
    composing = the_card(draft(), "interaction", patient=patient, hook=Hook.ORDER_SELECT)
    assert composing["indicator"] == "warning"
    assert "Lorazepam 1 MG Oral Tablet (benzodiazepine, matched *azepam)" in composing["detail"]
    assert f"(effect-blunting, matched {RXNORM}|28439)" in composing["detail"]
    signing = the_card(draft(), "interaction", patient=patient)
    assert signing["indicator"] == "critical" and signing["overrideReasons"]


def test_a_stopped_medication_gives_no_card() -> None:
    stopped = dict(LORAZEPAM, status="stopped")
    assert cards(draft(), patient=context(medications=medications_from_fhir([stopped]))) == {}


def test_a_blocking_class_is_critical_while_composing_and_the_lists_are_clinic_settings() -> None:
    patient = context(medications=medications_from_fhir([LORAZEPAM]))
    blocking = card_settings(blocking_interacting_drug_classes=("benzodiazepine",))
    card = the_card(draft(), "interaction-blocking", patient=patient, protocol=blocking, hook=Hook.ORDER_SELECT)
    assert card["indicator"] == "critical" and "does not order ketamine with this class" in card["detail"]
    without_benzodiazepines = card_settings(interacting_drug_terms=("xanthine:theophylline",),
                                            interacting_drug_codes=())
    assert cards(draft(), patient=patient, protocol=without_benzodiazepines) == {}


# --- the EHR's weights as the prefetch carries them ----------------------------------------------------------------
def test_a_newer_preliminary_weight_is_not_used_and_gets_a_warning() -> None:
    confirmed = weight_observation(80.0)  # final, 2026-11-18
    pending = weight_observation(95.0, id="weight-2", status="preliminary", effectiveDateTime="2026-11-19T09:00:00Z")
    used, reasons = weight_from_fhir([pending, confirmed])
    assert used is not None and used.value_kg == 80.0 and used.observation_id == "weight-1"
    found = cards(draft(), patient=context(weight=used, weight_reasons=reasons))
    assert list(found) == ["weight-unconfirmed"]
    card = found["weight-unconfirmed"]
    assert card["indicator"] == "warning" and "preliminary, not confirmed" in card["detail"]
    assert "the confirmed weight of 2026-11-18" in card["detail"]


def test_only_an_unconfirmed_weight_means_no_weight_and_a_critical_card() -> None:
    pending = weight_observation(80.0, status="preliminary")
    used, reasons = weight_from_fhir([pending])
    assert used is None
    found = cards(draft(), patient=context(weight=used, weight_reasons=reasons), hook=Hook.ORDER_SELECT)
    assert found["weight"]["indicator"] == "critical" and "no confirmed weight" in found["weight-unconfirmed"]["detail"]


def test_a_weight_in_a_unit_the_translator_refuses_is_a_weight_card() -> None:
    used, reasons = weight_from_fhir([weight_observation(80.0, unit="g")])
    assert used is None
    card = the_card(draft(), "weight", patient=context(weight=used, weight_reasons=reasons))
    assert card["indicator"] == "critical" and "no body weight is recorded" in card["detail"]
    assert any(r.field.startswith("weight.Observation.valueQuantity") for r in reasons)


# --- what the EHR records beside the store: contraindications, its copy of the decision, ketamine elsewhere --------
def condition(code: str, system: str = ICD10CM, clinical: str | None = "active", verification: str = "confirmed",
              patient: str = PATIENT, **extra: Any) -> dict[str, Any]:
    """A problem-list Condition as the EHR holds it (a real FHIR R4 resource: validated here)."""
    resource: dict[str, Any] = {"resourceType": "Condition", "id": f"cond-{code}",
                                "code": {"coding": [{"system": system, "code": code}], "text": f"Dx {code}"},
                                "subject": reference("Patient", patient),
                                "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION,
                                                                   "code": verification}]}, **extra}
    if clinical is not None:
        resource["clinicalStatus"] = {"coding": [{"system": CONDITION_CLINICAL, "code": clinical}]}
    Condition.model_validate(resource)
    return resource


def with_conditions(*resources: dict[str, Any]) -> PatientContext:
    return context(conditions=conditions_from_fhir(list(resources), PATIENT))


@pytest.mark.parametrize("hook", list(Hook))
def test_an_absolute_contraindication_recorded_in_the_ehr_is_critical_at_both_hooks(hook: Hook) -> None:
    card = the_card(draft(), "contraindication", patient=with_conditions(condition("I61.9")), hook=hook)
    assert card["indicator"] == "critical" and card["overrideReasons"]
    assert card["summary"] == "Absolute contraindication to ketamine recorded in the EHR"
    assert "History of intracerebral haemorrhage (absolute): Dx I61.9 (Condition/cond-I61.9" in card["detail"]
    assert f"`intracerebral-haemorrhage-history:{ICD10CM}|I61*` of `KETALINK_CONTRAINDICATION_CONDITION_CODES`" \
        in card["detail"]
    assert "suggestions" not in card and card["links"][0]["type"] == "smart"


def test_an_absolute_contraindication_counts_as_a_history_but_not_when_refuted_or_in_error() -> None:
    resolved = with_conditions(condition("Q28.2", clinical="resolved"))
    assert the_card(draft(), "contraindication", patient=resolved)["indicator"] == "critical"
    for verification in ("refuted", "entered-in-error"):
        assert cards(draft(), patient=with_conditions(condition("I61.9", verification=verification))) == {}


def test_a_relative_contraindication_is_a_warning_while_active_only() -> None:
    pregnant = with_conditions(condition("77386006", system=SNOMED))
    card = the_card(draft(), "contraindication-relative", patient=pregnant)
    assert card["indicator"] == "warning" and "overrideReasons" not in card
    assert "Pregnancy or breastfeeding (relative)" in card["detail"]
    assert cards(draft(), patient=with_conditions(condition("Z33.1", clinical="resolved"))) == {}
    assert the_card(draft(), "contraindication-relative", patient=with_conditions(
        condition("F20.9", clinical="relapse")))["indicator"] == "warning"


def test_a_condition_no_list_entry_matches_or_of_another_patient_gives_no_card() -> None:
    assert cards(draft(), patient=with_conditions(condition("F33.2"), condition("I10"))) == {}  # MDD, hypertension
    assert cards(draft(), patient=with_conditions(condition("I61.9", patient="someone-else"))) == {}
    assert cards(draft(), patient=with_conditions(condition("I61", system=SNOMED))) == {}  # the system matters


def test_the_contraindication_list_is_the_clinics_one_setting() -> None:
    clinic = ContraindicationSettings(
        absolute_contraindications=DEFAULT_ABSOLUTE_CONTRAINDICATIONS + ("recent-stroke",),
        contraindication_condition_codes=(f"recent-stroke:{ICD10CM}|I63*",))
    protocol = replace(card_settings(), contraindications=clinic)
    protocol.validate()
    stroke = with_conditions(condition("I63.9"))
    assert "Recent stroke (absolute)" in the_card(draft(), "contraindication", patient=stroke, protocol=protocol)[
        "detail"]
    assert cards(draft(), patient=with_conditions(condition("I61.9")), protocol=protocol) == {}  # list replaced
    assert cards(draft(), patient=stroke) == {}  # not in the default list


def ehr_decision(outcome: str, days_ago: float, status: str = "final", patient: str = PATIENT,
                 **extra: Any) -> dict[str, Any]:
    """The intake's decision as the EHR holds it (docs/contracts.md; a real FHIR R4 RiskAssessment)."""
    resource = {"resourceType": "RiskAssessment", "id": f"ra-{outcome}-{days_ago}", "status": status,
                "identifier": [identifier("eligibility", f"intake-{days_ago}")],
                "subject": reference("Patient", patient), "code": codeable_concept(KETAMINE_ELIGIBILITY),
                "occurrenceDateTime": instant(NOW - timedelta(days=days_ago)),
                "prediction": [{"outcome": {"coding": [{"system": KETALINK_LOCAL, "code": outcome}]}}], **extra}
    RiskAssessment.model_validate(resource)
    return resource


def with_ehr_decisions(*resources: dict[str, Any], **overrides: Any) -> PatientContext:
    decision, reasons = ehr_decision_from_fhir(list(resources), PATIENT)
    return context(ehr_decision=decision, ehr_decision_reasons=reasons, **overrides)


def test_a_newer_worse_decision_in_the_ehr_puts_the_eligibility_card_up() -> None:
    found = cards(draft(), patient=with_ehr_decisions(ehr_decision("not-eligible", days_ago=1)))
    assert list(found) == ["eligibility"]  # the store says eligible (5 days ago)
    card = found["eligibility"]
    assert card["indicator"] == "critical" and card["overrideReasons"]
    assert "the EHR records the intake's decision as not eligible (intake intake-1" in card["detail"]
    assert "newer than the eligible decision the orders service holds" in card["detail"]
    assert "needs review" in the_card(draft(), "eligibility", patient=with_ehr_decisions(
        ehr_decision("needs-review", days_ago=1)))["detail"]


def test_an_older_or_better_ehr_decision_changes_nothing_the_store_decides() -> None:
    assert cards(draft(), patient=with_ehr_decisions(ehr_decision("not-eligible", days_ago=9))) == {}
    better = with_ehr_decisions(ehr_decision("eligible", days_ago=1),
                                eligibility=eligibility(status=EligibilityStatus.NEEDS_REVIEW))
    card = the_card(draft(), "eligibility", patient=better)
    assert "needs a clinician's review" in card["detail"] and "EHR records" not in card["detail"]
    assert cards(draft(), patient=with_ehr_decisions(ehr_decision("not-eligible", days_ago=1, status="entered-in-error"),
                                                     ehr_decision("eligible", days_ago=2))) == {}
    other = with_ehr_decisions(ehr_decision("not-eligible", days_ago=1, patient="someone-else"))
    assert cards(draft(), patient=other) == {}


def test_no_decision_in_the_store_shows_the_ehrs_worse_one_too() -> None:
    card = the_card(draft(), "eligibility", patient=with_ehr_decisions(ehr_decision("not-eligible", days_ago=1),
                                                                      eligibility=None))
    assert "no intake eligibility decision is on file" in card["detail"]
    assert "the EHR records the intake's decision as not eligible" in card["detail"]
    eligible_in_ehr = the_card(draft(), "eligibility", patient=with_ehr_decisions(
        ehr_decision("eligible", days_ago=1), eligibility=None))
    assert "EHR records" not in eligible_in_ehr["detail"]  # the store's "no decision" stands: never less safe


def test_a_decision_withdrawn_in_the_ehr_and_one_that_cannot_be_read_are_on_the_card() -> None:
    withdrawn = ehr_decision("eligible", days_ago=5, status="cancelled",
                             note=[{"time": instant(NOW - timedelta(hours=2)), "text": "reopened"}])
    card = the_card(draft(), "eligibility", patient=with_ehr_decisions(withdrawn))
    assert "the EHR records the intake's decision as withdrawn" in card["detail"]
    unreadable = ehr_decision("maybe", days_ago=1)
    card = the_card(draft(), "eligibility", patient=with_ehr_decisions(unreadable))
    assert "an eligibility decision that cannot be read (RiskAssessment/ra-maybe-1" in card["detail"]


def ketamine_order(**changes: Any) -> dict[str, Any]:
    """An active ketamine order another prescriber placed in the EHR (not through Ketalink)."""
    return cpoe_medication_request(**({"status": "active", "id": "ehr-other-1"} | changes))


def with_ehr_orders(*resources: dict[str, Any], known: tuple[str, ...] = (), **overrides: Any) -> PatientContext:
    return context(ketamine_elsewhere=ketamine_orders_from_fhir(list(resources), PATIENT, {"ehr-mr-9"}, known),
                   **overrides)


@pytest.mark.parametrize("hook", list(Hook))
def test_a_ketamine_order_active_in_the_ehr_that_orders_does_not_hold_is_critical(hook: Hook) -> None:
    found = cards(draft(), patient=with_ehr_orders(ketamine_order()), hook=hook)
    assert list(found) == ["ketamine-elsewhere"]
    card = found["ketamine-elsewhere"]
    assert card["indicator"] == "critical" and card["overrideReasons"]
    assert "MedicationRequest/ehr-other-1 (active" in card["detail"] and "not a Ketalink series" in card["detail"]
    by_name = ketamine_order(medicationCodeableConcept={"text": "Ketamine HCl 50 mg/mL injection"})
    by_name.pop("medicationReference"), by_name.pop("contained")
    assert "ketamine-elsewhere" in cards(draft(), patient=with_ehr_orders(by_name), hook=hook)


def test_the_draft_ketalinks_own_orders_and_stopped_ones_are_not_ketamine_elsewhere() -> None:
    own = ketamine_order(id="ehr-copy-1", identifier=[identifier("order", "order-7")])
    accepted = ketamine_order(id="ehr-cpoe-3")
    held = with_ehr_orders(dict(draft(), status="active"), own, accepted, ketamine_order(status="stopped"),
                           ketamine_order(intent="proposal"), known=("order-7", "ehr-cpoe-3"))
    assert cards(draft(), patient=held) == {}


def test_an_active_ketamine_order_is_one_card_and_esketamine_is_an_interaction_not_ketamine() -> None:
    ketamine = ketamine_order()
    esketamine = {"resourceType": "MedicationRequest", "id": "mr-esk", "status": "active", "intent": "order",
                  "medicationCodeableConcept": {"text": "Esketamine 28 mg nasal spray"},
                  "subject": reference("Patient", PATIENT)}
    MedicationRequest.model_validate(esketamine)
    patient = with_ehr_orders(ketamine, esketamine,
                              medications=medications_from_fhir([ketamine, esketamine, draft()], exclude_id="ehr-mr-9"))
    found = cards(draft(), patient=patient)
    assert sorted(found) == ["interaction", "ketamine-elsewhere"]
    assert "Esketamine" in found["interaction"]["detail"] and "ehr-other-1" not in found["interaction"]["detail"]
    assert "mr-esk" not in found["ketamine-elsewhere"]["detail"]


@pytest.mark.parametrize("hook", list(Hook))
def test_a_clean_ehr_record_keeps_the_protocol_correct_order_card_free(hook: Hook) -> None:
    patient = context(conditions=conditions_from_fhir([condition("F33.2"), condition("I61.9", verification="refuted")],
                                                      PATIENT),
                      ehr_decision=ehr_decision_from_fhir([ehr_decision("eligible", days_ago=5)], PATIENT)[0],
                      ketamine_elsewhere=ketamine_orders_from_fhir([dict(draft(), status="active")], PATIENT,
                                                                   {"ehr-mr-9"}, ()))
    assert cards(draft(), patient=patient, hook=hook) == {}


def pregnancy_status(value: str, display: str, days_ago: float, status: str = "final") -> dict[str, Any]:
    """The EHR's pregnancy status Observation (US Core: LOINC 82810-3 with a SNOMED CT value)."""
    resource = {"resourceType": "Observation", "id": f"preg-{value}-{days_ago}", "status": status,
                "code": {"coding": [{"system": "http://loinc.org", "code": "82810-3"}]},
                "subject": reference("Patient", PATIENT),
                "effectiveDateTime": instant(NOW - timedelta(days=days_ago)),
                "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": value, "display": display}]}}
    Observation.model_validate(resource)
    return resource


def test_the_latest_pregnancy_status_pregnant_is_the_relative_contraindication_card() -> None:
    pregnant = pregnancy_status("77386006", "Pregnant", days_ago=3)
    card = the_card(draft(), "contraindication-relative",
                    patient=context(conditions=pregnancy_status_from_fhir([pregnant], PATIENT)))
    assert card["indicator"] == "warning"
    assert "Pregnancy or breastfeeding (relative): pregnancy status Pregnant of 2026-11-17 (Observation/preg-" \
        in card["detail"] and "is the EHR's latest pregnancy status" in card["detail"]
    not_pregnant_since = pregnancy_status("60001007", "Not pregnant", days_ago=1)
    assert cards(draft(), patient=context(conditions=pregnancy_status_from_fhir([pregnant, not_pregnant_since],
                                                                                PATIENT))) == {}
    unconfirmed = pregnancy_status("77386006", "Pregnant", days_ago=3, status="preliminary")
    assert pregnancy_status_from_fhir([unconfirmed], PATIENT) == ()
