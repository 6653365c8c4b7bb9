"""Each CDS Hooks card, and a card-free order, from the running orders service's ``ketamine-order-sign`` hook: a
real signed JWT (the pinned EHR key), the real broker, and the EHR sandbox holding the patient (each test makes a
patient of its own, with the weights, height and medications the card is about); the service reads the EHR with
the request's ``fhirServer`` and ``fhirAuthorization``, and takes the eligibility decision and a running series from
its own store (published as the intake and the EHR publish them). The clinic doses on the ideal weight here, so the
weight-basis cards can be shown, and names xanthines as a class it never combines with ketamine. The orders API
runs without the SMART session check (as in a local run) so that the test can sign a series and record a C-SSRS
screener in the course, as the clinic does, for the running-series and suicidality cards; the hook's own JWT check
is on as everywhere.

What the EHR records after the intake decided is carded too, both when the service reads the EHR and when the EHR
prefetches every key (no fhirServer then): a contraindication on the problem list, a newer stricter eligibility
decision, a ketamine order active in the EHR that the orders service does not hold."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from deploy.ehr_sandbox.ehr_events import record_and_announce
from deploy.ehr_sandbox.seed import MRN_SYSTEM
from services.orders.cds_hooks import cards as card_rules
from services.orders.cds_hooks.discovery import PREFETCH
from services.orders.translators.codes import KETAMINE_ELIGIBILITY
from shared.cds_prefetch_template import fill_template, hook_tokens
from shared.contraindications import ICD10CM
from services.orders.cds_hooks.context import CARD_TOPIC_SYSTEM, OVERRIDE_REASON_SYSTEM
from shared.events.topics import EHR_EVENTS, INTAKE_EVENTS, ORDERS_EVENTS
from shared.fhir.codes import BODY_HEIGHT, BODY_WEIGHT, CONDITION_CLINICAL, CONDITION_VERIFICATION, KETALINK_LOCAL, \
    OBSERVATION_CATEGORY, SNOMED
from shared.fhir.datatypes import codeable_concept, coding, identifier, instant, quantity
from tests.integration.course.support import CourseClinic, hours_ago
from tests.integration.orders.cds_hooks_support import SIGN, Stack, cds_stack, hook_request
from tests.integration.orders.support import cpoe_medication_request, eligibility_message, message_id, responses_to
from tests.support.kafka_tools import publish, wait_for

pytestmark = pytest.mark.integration

CLINIC = {"ORDERS_WEIGHT_BASIS": "ideal", "ORDERS_BLOCKING_INTERACTING_DRUG_CLASSES": "xanthine",
          "SMART_AUTH_REQUIRED": "false"}


@pytest.fixture(scope="module")
def stack(broker: Any, ehr: Any, log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with cds_stack(broker, ehr, log_dir, tmp_path_factory.mktemp("cds-cards-live"), CLINIC) as started:
        yield started


def _observation(ehr: Any, patient_id: str, mrn: str, code: Any, value: float, unit: str, days_ago: float,
                 status: str = "final") -> None:
    key = f"{mrn}-{code.code}-{uuid.uuid4().hex[:6]}"
    ehr.client.create_if_none_exist({
        "resourceType": "Observation", "identifier": [{"system": MRN_SYSTEM, "value": key}], "status": status,
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [coding(code)]}, "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": instant(datetime.now(timezone.utc) - timedelta(days=days_ago)),
        "valueQuantity": quantity(value, unit),
    }, f"identifier={MRN_SYSTEM}|{key}")


def _patient(ehr: Any, weight_kg: float | None = 80.0, weight_days_ago: float = 1, height_cm: float | None = 175.0
             ) -> tuple[str, str]:
    """A male patient of this test alone (no other test's decision, order or series): (Patient id, MRN)."""
    mrn = f"KL-CDL-{uuid.uuid4().hex[:8]}"
    patient, _ = ehr.client.create_if_none_exist({
        "resourceType": "Patient", "identifier": [{"system": MRN_SYSTEM, "value": mrn}], "active": True,
        "name": [{"family": "Cardlive", "given": ["Alex"]}], "gender": "male", "birthDate": "1971-03-03",
    }, f"identifier={MRN_SYSTEM}|{mrn}")
    if weight_kg is not None:
        _observation(ehr, patient["id"], mrn, BODY_WEIGHT, weight_kg, "kg", weight_days_ago)
    if height_cm is not None:
        _observation(ehr, patient["id"], mrn, BODY_HEIGHT, height_cm, "cm", 30)
    return patient["id"], mrn


def _draft(patient_id: str, **changes: Any) -> dict[str, Any]:
    return cpoe_medication_request(patient_id, **changes) | {"id": f"draft-{uuid.uuid4().hex[:8]}", "status": "draft"}


def _sign(stack: Stack, ehr: Any, patient_id: str, draft: dict[str, Any]) -> list[dict[str, Any]]:
    """``order-sign`` with a fresh signed JWT; no prefetch, so the service reads the EHR with the EHR's token."""
    token = ehr.headers()["Authorization"].removeprefix("Bearer ")
    body = hook_request("order-sign", patient_id, [draft], fhir_server=ehr.base_url, token=token)
    answer = stack.call(stack.pinned.token(stack.aud(SIGN)), body, SIGN)
    assert answer.status_code == 200, answer.text
    return answer.json()["cards"]


def _codes(cards: list[dict[str, Any]]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in cards]


def _decided(stack: Stack, ehr: Any, broker: Any, patient_id: str, outcome: str = "eligible") -> None:
    """The intake's decision published; returns once the hook's eligibility card says what the decision says."""
    publish(broker.bootstrap, INTAKE_EVENTS, eligibility_message(patient_id, outcome=outcome), key=patient_id)
    last: dict[str, Any] = {}

    def arrived() -> bool:
        last["cards"] = _sign(stack, ehr, patient_id, _draft(patient_id))
        eligibility = [c for c in last["cards"] if c["source"]["topic"]["code"] == "eligibility"]
        return not eligibility if outcome == "eligible" else \
            any(outcome.replace("-", " ") in c["detail"] for c in eligibility)

    wait_for(arrived, timeout_s=45, what=f"the {outcome} decision to reach orders",
             explain=lambda: f"cards then: {[(c['summary'], c['detail']) for c in last.get('cards', [])]}")


def _one(cards: list[dict[str, Any]], topic: card_rules.Topic, indicator: str, suggested: bool) -> dict[str, Any]:
    """The one card of ``topic``, checked as every card must be: summary, source, override reasons when critical,
    the SMART link, an update suggestion when the protocol-correct order fixes it."""
    found = [c for c in cards if c["source"]["topic"]["code"] == topic.code]
    assert len(found) == 1, (topic.code, _codes(cards))
    card = found[0]
    assert card["indicator"] == indicator, card
    assert card["summary"] == topic.summary and len(card["summary"]) < 140
    assert card["source"]["label"] == "Ketalink clinic ketamine protocol"
    assert card["source"]["topic"]["system"] == CARD_TOPIC_SYSTEM
    assert card["detail"].startswith("- "), card["detail"]
    if indicator == "critical":
        reasons = card["overrideReasons"]
        assert reasons and {r["system"] for r in reasons} == {OVERRIDE_REASON_SYSTEM}
        assert "clinician-reviewed" in {r["code"] for r in reasons}
    else:
        assert "overrideReasons" not in card
    assert [link["type"] for link in card["links"]] == ["smart"]
    if suggested:
        (suggestion,) = card["suggestions"]
        (action,) = suggestion["actions"]
        assert action["type"] == "update" and action["resource"]["resourceType"] == "MedicationRequest"
    else:
        assert "suggestions" not in card, card
    return card


@pytest.fixture
def eligible(stack: Stack, ehr: Any, broker: Any) -> str:
    """An eligible patient, 80 kg weighed yesterday, 175 cm (ideal weight below the actual: dosed on the ideal)."""
    patient_id, _ = _patient(ehr)
    _decided(stack, ehr, broker, patient_id)
    return patient_id


def test_a_protocol_correct_order_for_an_eligible_patient_gets_no_card(stack: Stack, ehr: Any, eligible: str
                                                                       ) -> None:
    assert _sign(stack, ehr, eligible, _draft(eligible)) == []


@pytest.mark.parametrize("mg_per_kg", [2.0, 0.05], ids=["high", "low"])
def test_a_dose_outside_the_range_gets_the_critical_dose_card_with_the_protocol_order(
        stack: Stack, ehr: Any, eligible: str, mg_per_kg: float) -> None:
    cards = _sign(stack, ehr, eligible, _draft(eligible, mg_per_kg=mg_per_kg))
    assert _codes(cards) == ["dose"], cards
    card = _one(cards, card_rules.DOSE, "critical", suggested=True)
    assert "`min_dose_mg_per_kg` = 0.1" in card["detail"] and "`max_dose_mg_per_kg` = 1" in card["detail"]
    resource = card["suggestions"][0]["actions"][0]["resource"]
    assert resource["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 0.5
    assert _sign(stack, ehr, eligible, resource) == []  # the suggestion is card-free


def test_a_product_the_clinic_does_not_stock_gets_the_product_card(stack: Stack, ehr: Any, eligible: str) -> None:
    cards = _sign(stack, ehr, eligible, _draft(eligible, strength_mg_per_ml=50.0))
    card = _one(cards, card_rules.PRODUCT, "critical", suggested=True)
    assert "ketamine-10" in card["detail"]  # the stocked products named from the clinic setting


def test_a_series_longer_than_the_induction_gets_the_series_card(stack: Stack, ehr: Any, eligible: str) -> None:
    cards = _sign(stack, ehr, eligible, _draft(eligible, infusion_count=12))
    card = _one(cards, card_rules.SERIES, "critical", suggested=True)
    assert "`induction_max_infusions` = 8" in card["detail"]


@pytest.mark.parametrize(("weight_kg", "days_ago"), [(None, 0), (80.0, 60)], ids=["missing", "stale"])
def test_a_missing_or_stale_weight_gets_the_critical_weight_card(stack: Stack, ehr: Any, broker: Any,
                                                                 weight_kg: float | None, days_ago: float) -> None:
    patient_id, _ = _patient(ehr, weight_kg=weight_kg, weight_days_ago=days_ago)
    _decided(stack, ehr, broker, patient_id)
    cards = _sign(stack, ehr, patient_id, _draft(patient_id))
    card = _one(cards, card_rules.WEIGHT, "critical", suggested=False)
    assert "`weight_max_age_days` = 30" in card["detail"]


def test_a_newer_unconfirmed_weight_gets_a_warning_and_the_confirmed_weight_is_dosed(
        stack: Stack, ehr: Any, broker: Any) -> None:
    patient_id, mrn = _patient(ehr)
    _observation(ehr, patient_id, mrn, BODY_WEIGHT, 95.0, "kg", 0.1, status="preliminary")
    _decided(stack, ehr, broker, patient_id)
    cards = _sign(stack, ehr, patient_id, _draft(patient_id))
    assert _codes(cards) == ["weight-unconfirmed"], cards
    card = _one(cards, card_rules.WEIGHT_UNCONFIRMED, "warning", suggested=False)
    assert "preliminary" in card["detail"] and "not confirmed" in card["detail"]


def test_no_height_for_the_ideal_weight_basis_gets_the_weight_basis_card(stack: Stack, ehr: Any, broker: Any
                                                                         ) -> None:
    patient_id, _ = _patient(ehr, height_cm=None)
    _decided(stack, ehr, broker, patient_id)
    card = _one(_sign(stack, ehr, patient_id, _draft(patient_id)), card_rules.WEIGHT_BASIS, "critical",
                suggested=False)
    assert "`weight_basis` = ideal" in card["detail"]


def test_an_actual_weight_below_the_ideal_gets_the_info_card_naming_the_basis_used(
        stack: Stack, ehr: Any, broker: Any) -> None:
    patient_id, _ = _patient(ehr, weight_kg=60.0, height_cm=190.0)  # Devine ideal ~84 kg
    _decided(stack, ehr, broker, patient_id)
    cards = _sign(stack, ehr, patient_id, _draft(patient_id))
    assert _codes(cards) == ["weight-basis-used"], cards
    _one(cards, card_rules.BASIS_USED, "info", suggested=False)


def test_no_decision_and_a_not_eligible_decision_get_the_critical_eligibility_card(
        stack: Stack, ehr: Any, broker: Any) -> None:
    patient_id, _ = _patient(ehr)
    undecided = _one(_sign(stack, ehr, patient_id, _draft(patient_id)), card_rules.ELIGIBILITY, "critical",
                     suggested=False)
    _decided(stack, ehr, broker, patient_id, outcome="not-eligible")  # e.g. an absolute contraindication
    refused = _one(_sign(stack, ehr, patient_id, _draft(patient_id)), card_rules.ELIGIBILITY, "critical",
                   suggested=False)
    assert refused["detail"] != undecided["detail"] and "not eligible" in refused["detail"]


def _medication(ehr: Any, patient_id: str, name: str) -> None:
    key = f"med-{uuid.uuid4().hex[:8]}"
    ehr.client.create_if_none_exist({
        "resourceType": "MedicationRequest", "identifier": [{"system": MRN_SYSTEM, "value": key}],
        "status": "active", "intent": "order", "medicationCodeableConcept": {"text": name},
        "subject": {"reference": f"Patient/{patient_id}"}, "authoredOn": instant(datetime.now(timezone.utc)),
    }, f"identifier={MRN_SYSTEM}|{key}")


@pytest.mark.parametrize(("name", "topic"), [("lorazepam", card_rules.INTERACTION),
                                             ("theophylline", card_rules.INTERACTION_BLOCKING)])
def test_an_interacting_medication_in_the_ehr_gets_a_critical_card_at_sign(
        stack: Stack, ehr: Any, eligible: str, name: str, topic: card_rules.Topic) -> None:
    _medication(ehr, eligible, name)
    cards = _sign(stack, ehr, eligible, _draft(eligible))
    card = _one(cards, topic, "critical", suggested=False)
    assert name in card["detail"] and "`blocking_interacting_drug_classes` = xanthine" in card["detail"]


def test_a_second_order_while_a_series_is_running_gets_the_running_series_card(
        stack: Stack, ehr: Any, broker: Any, eligible: str) -> None:
    placed = cpoe_medication_request(eligible)
    _stored, message = record_and_announce(ehr.client, placed, "cpoe-order-placed")
    publish(broker.bootstrap, EHR_EVENTS, message, key=eligible)
    answers = wait_for(lambda: responses_to(broker.bootstrap, ORDERS_EVENTS, message_id(message)),
                       timeout_s=60, what="the orders service's answer to the placed order")
    assert {a.response_code.value for a in answers} == {"ok"}
    last: dict[str, Any] = {}

    def carded() -> bool:
        last["cards"] = _sign(stack, ehr, eligible, _draft(eligible))
        return "running-series" in _codes(last["cards"])

    wait_for(carded, timeout_s=45, what="the signed series to reach this orders process",
             explain=lambda: f"cards then: {_codes(last.get('cards', []))}")
    _one(last["cards"], card_rules.RUNNING_SERIES, "critical", suggested=False)


def test_an_open_suicidality_alert_on_the_course_gets_the_critical_suicidality_card(
        stack: Stack, ehr: Any, broker: Any) -> None:
    patient_id, _ = _patient(ehr)
    clinic = CourseClinic(stack.base_url, None, broker.bootstrap, ehr)  # type: ignore[arg-type]  # orders only
    clinic.decide_with_baseline(patient_id, 18, answered_at=hours_ago(30))
    induction = clinic.sign_induction(patient_id)
    positive = {"wish-to-be-dead": True, "suicidal-thoughts": True, "ideation-with-method": True,
                "ideation-with-intent": False, "ideation-with-plan-and-intent": False,
                "suicidal-behaviour-lifetime": False}
    screened = clinic.post(f"/courses/{induction.course_id}/cssrs", {
        "answers": positive, "context": "pre-infusion", "recorded_by": "RN Dana Hill"}, 201)
    assert screened["alerts_raised"], screened
    cards = _sign(stack, ehr, patient_id, _draft(patient_id))
    assert sorted(_codes(cards)) == ["running-series", "suicidality"], cards
    card = _one(cards, card_rules.SUICIDALITY, "critical", suggested=False)
    assert "1 open suicidality alert(s)" in card["detail"]


# --- what the EHR records after the intake decided: problem list, its copy of the decision, ketamine elsewhere -----
PREFETCH_MODES = ["service-reads-the-ehr", "ehr-prefetches"]


def _prefetch(ehr: Any, patient_id: str) -> dict[str, Any]:
    """Every key of the discovery document filled as an EHR would (the shared template filler) from the sandbox."""
    prefetch: dict[str, Any] = {}
    for key, template in PREFETCH.items():
        query = fill_template(template, hook_tokens(patient_id, "Practitioner/prescriber-1"))
        assert query is not None, key
        path, _, params = query.partition("?")
        if not params:
            prefetch[key] = ehr.client.read(*path.split("/"))
            continue
        found = ehr.client.search(path, dict(parse_qsl(params)))
        prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "total": len(found),
                         "entry": [{"resource": r, "search": {"mode": "match"}} for r in found]}
    return prefetch


def _sign_as(mode: str, stack: Stack, ehr: Any, patient_id: str) -> list[dict[str, Any]]:
    """``order-sign`` for a protocol-correct draft: the service reads the EHR itself, or the EHR prefetches every
    key and names no fhirServer (so nothing but the prefetch can give the card)."""
    if mode == "service-reads-the-ehr":
        return _sign(stack, ehr, patient_id, _draft(patient_id))
    body = hook_request("order-sign", patient_id, [_draft(patient_id)], prefetch=_prefetch(ehr, patient_id))
    answer = stack.call(stack.pinned.token(stack.aud(SIGN)), body, SIGN)
    assert answer.status_code == 200, answer.text
    return answer.json()["cards"]


def _condition(ehr: Any, patient_id: str, system: str, code: str, clinical: str = "active") -> str:
    """A Condition the EHR's problem list gains after the intake decided; its id."""
    key = f"cond-{uuid.uuid4().hex[:8]}"
    created, _ = ehr.client.create_if_none_exist({
        "resourceType": "Condition", "identifier": [{"system": MRN_SYSTEM, "value": key}],
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": clinical}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]},
        "code": {"coding": [{"system": system, "code": code}], "text": f"Problem {code}"},
        "subject": {"reference": f"Patient/{patient_id}"}, "recordedDate": instant(datetime.now(timezone.utc)),
    }, f"identifier={MRN_SYSTEM}|{key}")
    return created["id"]


@pytest.mark.parametrize("mode", PREFETCH_MODES)
def test_a_contraindication_recorded_in_the_ehr_after_the_intake_decided_gets_a_card(
        stack: Stack, ehr: Any, eligible: str, mode: str) -> None:
    assert _sign_as(mode, stack, ehr, eligible) == []  # decided eligible, nothing on the problem list
    _condition(ehr, eligible, ICD10CM, "F33.2")  # the depression itself: no contraindication
    haemorrhage = _condition(ehr, eligible, ICD10CM, "I61.9", clinical="resolved")  # a history still counts
    cards = _sign_as(mode, stack, ehr, eligible)
    assert _codes(cards) == ["contraindication"], cards
    card = _one(cards, card_rules.CONTRAINDICATION, "critical", suggested=False)
    assert f"Condition/{haemorrhage}" in card["detail"] and "History of intracerebral haemorrhage" in card["detail"]
    assert f"`intracerebral-haemorrhage-history:{ICD10CM}|I61*`" in card["detail"]
    _condition(ehr, eligible, ICD10CM, "Z33.1")  # pregnant: relative, a warning
    cards = _sign_as(mode, stack, ehr, eligible)
    assert sorted(_codes(cards)) == ["contraindication", "contraindication-relative"], cards
    relative = _one(cards, card_rules.CONTRAINDICATION_RELATIVE, "warning", suggested=False)
    assert "Pregnancy or breastfeeding (relative)" in relative["detail"]


@pytest.mark.parametrize("mode", PREFETCH_MODES)
def test_a_newer_not_eligible_decision_in_the_ehr_gets_the_eligibility_card_over_the_stores_eligible(
        stack: Stack, ehr: Any, eligible: str, mode: str) -> None:
    """The EHR holds a newer decision than the orders service (another intake instance, a message not yet applied
    here): the card is as strict as the EHR's record, while the store's eligible decision stays the one used."""
    intake_id = f"intake-{uuid.uuid4().hex[:8]}"
    ehr.client.create_if_none_exist({
        "resourceType": "RiskAssessment", "identifier": [identifier("eligibility", intake_id)], "status": "final",
        "subject": {"reference": f"Patient/{eligible}"}, "code": codeable_concept(KETAMINE_ELIGIBILITY),
        "occurrenceDateTime": instant(datetime.now(timezone.utc) + timedelta(seconds=1)),
        "prediction": [{"outcome": {"coding": [{"system": KETALINK_LOCAL, "code": "not-eligible"}]}}],
    }, f"identifier={identifier('eligibility', intake_id)['system']}|{intake_id}")
    cards = _sign_as(mode, stack, ehr, eligible)
    assert _codes(cards) == ["eligibility"], cards
    card = _one(cards, card_rules.ELIGIBILITY, "critical", suggested=False)
    assert f"the EHR records the intake's decision as not eligible (intake {intake_id}" in card["detail"]
    assert "newer than the eligible decision the orders service holds" in card["detail"]


@pytest.mark.parametrize("mode", PREFETCH_MODES)
def test_a_ketamine_order_active_in_the_ehr_that_orders_does_not_hold_gets_the_critical_card(
        stack: Stack, ehr: Any, eligible: str, mode: str) -> None:
    """Another prescriber's ketamine order, active in the EHR and never sent to Ketalink."""
    placed = cpoe_medication_request(eligible, requester="Dr. Other System")
    ehr_identifier = placed["identifier"][0]
    elsewhere, _ = ehr.client.create_if_none_exist(placed,
                                                   f"identifier={ehr_identifier['system']}|{ehr_identifier['value']}")
    cards = _sign_as(mode, stack, ehr, eligible)
    assert _codes(cards) == ["ketamine-elsewhere"], cards
    card = _one(cards, card_rules.KETAMINE_ELSEWHERE, "critical", suggested=False)
    assert f"MedicationRequest/{elsewhere['id']} (active" in card["detail"] and "Dr. Other System" in card["detail"]


def test_a_pregnancy_status_observation_saying_pregnant_gets_the_relative_contraindication_card(
        stack: Stack, ehr: Any, eligible: str) -> None:
    """US Core's pregnancy status (LOINC 82810-3, SNOMED CT 77386006 pregnant) recorded after the intake decided."""
    key = f"preg-{uuid.uuid4().hex[:8]}"
    ehr.client.create_if_none_exist({
        "resourceType": "Observation", "identifier": [{"system": MRN_SYSTEM, "value": key}], "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "82810-3"}]},
        "subject": {"reference": f"Patient/{eligible}"}, "effectiveDateTime": instant(datetime.now(timezone.utc)),
        "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "77386006", "display": "Pregnant"}]},
    }, f"identifier={MRN_SYSTEM}|{key}")
    cards = _sign(stack, ehr, eligible, _draft(eligible))
    assert _codes(cards) == ["contraindication-relative"], cards
    card = _one(cards, card_rules.CONTRAINDICATION_RELATIVE, "warning", suggested=False)
    assert "is the EHR's latest pregnancy status" in card["detail"]
