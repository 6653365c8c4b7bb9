"""The CDS Hooks service against a real orders process, the real broker and the EHR sandbox: discovery, hook calls
answered from the prefetch or by reading the EHR with the request's fhirServer and fhirAuthorization, the cards of
the orders domain's rules (a protocol-correct order for an eligible patient gets none), bad requests refused with a
400 OperationOutcome, and feedback stored and audited once however often the EHR retries it, attributed to the
prescriber and patient of the hook call that returned its card (an unknown card or another EHR's is a 400)."""
from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from shared.events.topics import INTAKE_EVENTS
from tests.integration.orders.cds_hooks_support import SELECT, SIGN, Stack, cds_stack, hook_request
from tests.integration.orders.support import (
    cpoe_medication_request, eligibility_message, patient_id_for, patient_of_its_own,
)
from tests.support.kafka_tools import publish, wait_for
from tests.support.prod_model import database_url

TOKENS = ("{{context.patientId}}", "{{context.userId}}", "{{context.encounterId}}", "{{userPractitionerId}}")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cds-service")


@pytest.fixture(scope="module")
def stack(broker, ehr, log_dir: Path, data_dir: Path) -> Iterator[Stack]:
    with cds_stack(broker, ehr, log_dir, data_dir) as started:
        yield started


def _draft(patient_id: str, **changes: Any) -> dict[str, Any]:
    return cpoe_medication_request(patient_id, **changes) | {"id": f"draft-{uuid.uuid4().hex[:8]}",
                                                               "status": "draft"}


def _from_ehr(ehr: Any, hook: str, patient_id: str, drafts: list[dict[str, Any]]) -> dict[str, Any]:
    """No prefetch: the service reads the EHR with the token the EHR hands it."""
    token = ehr.headers()["Authorization"].removeprefix("Bearer ")
    return hook_request(hook, patient_id, drafts, fhir_server=ehr.base_url, token=token)


def _summaries(answer: requests.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [card["summary"] for card in answer.json()["cards"]]


def test_discovery_lists_both_hooks_with_spec_prefetch_templates(stack: Stack) -> None:
    answer = requests.get(f"{stack.base_url}/cds-services", timeout=10)
    assert answer.status_code == 200
    services = {s["id"]: s for s in answer.json()["services"]}
    assert {s["hook"] for s in services.values()} == {"order-select", "order-sign"}
    prefetch = services[SIGN]["prefetch"]
    assert set(prefetch) == {"patient", "weight", "newerWeights", "height", "medications", "conditions",
                             "eligibility", "ketamineOrders", "pregnancyStatus"}  # what the cards read
    assert prefetch["patient"] == "Patient/{{context.patientId}}"
    assert "_sort=-date&_count=1" in prefetch["weight"] and "29463-7" in prefetch["weight"]
    for template in prefetch.values():  # only the spec's tokens, never anything else in braces
        stripped = template
        for token in TOKENS:
            stripped = stripped.replace(token, "")
        assert "{{" not in stripped, template
        assert "code=" not in template or not template.startswith("RiskAssessment")  # R4 defines no such search


def test_an_order_for_a_patient_without_a_decision_gets_the_eligibility_card_reading_the_ehr(
        stack: Stack, ehr: Any) -> None:
    patient_id = patient_id_for(ehr, "KL-1002")
    answer = stack.call(stack.pinned.token(stack.aud()), _from_ehr(ehr, "order-sign", patient_id,
                                                                   [_draft(patient_id)]))
    summaries = _summaries(answer)
    assert any("eligib" in s.lower() for s in summaries), summaries
    assert not any("weight missing" in s.lower() for s in summaries), summaries  # the EHR's weight was read
    # The card's SMART link is the orders app's own launch view (the EHR adds iss and launch to it).
    link = answer.json()["cards"][0]["links"][0]
    assert link["type"] == "smart" and link["url"] == f"{stack.base_url}/launch", link
    assert requests.get(link["url"], timeout=10, allow_redirects=False).status_code != 404


def test_an_eligible_patient_with_a_protocol_order_gets_no_card_and_a_wrong_dose_gets_one(
        stack: Stack, ehr: Any, broker: Any) -> None:
    patient_id = patient_of_its_own(ehr.client)
    publish(broker.bootstrap, INTAKE_EVENTS, eligibility_message(patient_id), key=patient_id)

    last: dict[str, list[str]] = {}

    def card_free() -> bool:
        body = _from_ehr(ehr, "order-sign", patient_id, [_draft(patient_id)])
        last["cards"] = _summaries(stack.call(stack.pinned.token(stack.aud()), body))
        return not last["cards"]

    wait_for(card_free, timeout_s=30, what="the decision to reach orders and the order to be card-free",
             explain=lambda: f"cards then: {last.get('cards')}")
    wrong = _from_ehr(ehr, "order-sign", patient_id, [_draft(patient_id, mg_per_kg=2.0)])
    answer = stack.call(stack.pinned.token(stack.aud()), wrong)
    cards = answer.json()["cards"]
    assert [c["indicator"] for c in cards if "dose" in c["summary"].lower()] == ["critical"], cards
    # order-select: the same draft, selected, is a warning while the prescriber is still composing
    select = _from_ehr(ehr, "order-select", patient_id, [_draft(patient_id, mg_per_kg=2.0)])
    selected = stack.call(stack.pinned.token(stack.aud(SELECT)), select, SELECT).json()["cards"]
    assert [c["indicator"] for c in selected if "dose" in c["summary"].lower()] == ["warning"], selected


def test_a_draft_for_another_drug_gets_no_card(stack: Stack, ehr: Any) -> None:
    patient_id = patient_id_for(ehr, "KL-1002")
    other = _draft(patient_id)
    other.pop("contained", None)
    other.pop("medicationReference", None)
    other["medicationCodeableConcept"] = {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                      "code": "161", "display": "acetaminophen"}]}
    other["dosageInstruction"][0]["text"] = "acetaminophen 1 g PO"
    assert _summaries(stack.call(stack.pinned.token(stack.aud()),
                                 _from_ehr(ehr, "order-sign", patient_id, [other]))) == []


@pytest.mark.parametrize(("change", "where"), [
    (lambda b: b.pop("hookInstance"), "hookInstance"),
    (lambda b: b.update(hook="order-select"), "hook"),
    (lambda b: b["context"].update(patientId="../Patient/1"), "context.patientId"),
    (lambda b: b["context"].update(userId="Dr. Jane Smith"), "context.userId"),
    (lambda b: b["context"].update(draftOrders=[]), "context.draftOrders"),
    (lambda b: b["context"]["draftOrders"].update(entry=[{"resource": {}}] * 21), "context.draftOrders.entry"),
    (lambda b: b.update(prefetch=[]), "prefetch"),
    (lambda b: b.update(fhirServer="file:///etc/passwd"), "fhirServer"),
    (lambda b: b.update(fhirServer=None), "fhirServer"),  # a JSON null is not a URL
    (lambda b: b.update(fhirAuthorization="token"), "fhirAuthorization"),  # checked with or without fhirServer
    (lambda b: b.update(hookInstance="0" * 32), "hookInstance"),  # a UUID in its canonical form
    (lambda b: b["context"].update(encounterId=None), "context.encounterId"),
    (lambda b: b.update(fhirServer="http://127.0.0.1:1/fhir", fhirAuthorization={"token_type": "Bearer"}),
     "fhirAuthorization"),
])
def test_a_bad_hook_request_is_a_400_naming_the_field(stack: Stack, ehr: Any, change: Any, where: str) -> None:
    body = hook_request("order-sign", "p1", [_draft("p1")])
    change(body)
    answer = stack.call(stack.pinned.token(stack.aud()), body)
    assert answer.status_code == 400, answer.text
    issue = answer.json()["issue"][0]
    assert issue["expression"] == [where], issue


def test_a_deep_or_non_object_body_is_a_400_and_an_unknown_service_a_404(stack: Stack) -> None:
    headers = {"Authorization": f"Bearer {stack.pinned.token(stack.aud())}", "Content-Type": "application/json"}
    deep = requests.post(stack.aud(), data="[" * 200 + "]" * 200, headers=headers, timeout=10)
    assert deep.status_code == 400 and deep.json()["resourceType"] == "OperationOutcome"
    listed = requests.post(stack.aud(), data="[]", timeout=10,
                           headers=headers | {"Authorization": f"Bearer {stack.pinned.token(stack.aud())}"})
    assert listed.status_code == 400
    unknown = requests.post(f"{stack.base_url}/cds-services/nope", json={}, timeout=10,
                            headers={"Authorization": f"Bearer {stack.pinned.token(stack.aud('nope'))}"})
    assert unknown.status_code == 404


@pytest.mark.parametrize(("change", "field"), [
    ({"effectiveDateTime": 1_765_000_000}, "Observation.effectiveDateTime"),  # a number is not a dateTime
    ({"valueQuantity": {"value": "80", "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}},
     "Observation.valueQuantity.value"),  # text is not a decimal
    ({"status": None}, "status"),  # FHIR JSON has no nulls
    ({"subject": {"reference": "Patient/p1", "display": 7}}, "Observation.subject.display"),
])
def test_a_prefetch_resource_with_a_wrong_json_type_is_a_400_naming_the_field(stack: Stack, change: dict[str, Any],
                                                                              field: str) -> None:
    """The structural validation does not coerce: what the EHR sent in the wrong JSON type is refused, never read."""
    weight = {"resourceType": "Observation", "id": "w1", "status": "final",
              "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
              "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2026-12-06T10:00:00Z",
              "valueQuantity": {"value": 80, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}}
    prefetch = {"patient": {"resourceType": "Patient", "id": "p1", "gender": "female"}, "newerWeights": None,
                "height": None, "medications": None, "conditions": None, "eligibility": None, "ketamineOrders": None,
                "pregnancyStatus": None,
                "weight": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": weight | change}]}}
    answer = stack.call(stack.pinned.token(stack.aud()),
                        hook_request("order-sign", "p1", [_draft("p1")], prefetch=prefetch))
    assert answer.status_code == 400, answer.text
    issue = answer.json()["issue"][0]
    assert issue["expression"] == ["prefetch.weight"] and field in issue["diagnostics"], issue


def test_without_prefetch_or_fhir_server_the_answer_is_412(stack: Stack) -> None:
    answer = stack.call(stack.pinned.token(stack.aud()), hook_request("order-sign", "p1", [_draft("p1")]))
    assert answer.status_code == 412, answer.text
    assert answer.json()["issue"][0]["expression"] == ["prefetch"]


def _feedback(card: str, outcome: str, at: str, **extra: Any) -> dict[str, Any]:
    return {"feedback": [{"card": card, "outcome": outcome, "outcomeTimestamp": at, **extra}]}


def _returned_card(stack: Stack, patient_id: str, service_id: str = SIGN, ehr: Any = None) -> tuple[str, str]:
    """A critical card the service returned (the patient has no eligibility decision in orders), from a prefetch
    the EHR sent; its uuid and the hook's userId."""
    ehr = ehr or stack.pinned
    prefetch = {"patient": {"resourceType": "Patient", "id": patient_id, "gender": "female"}, "weight": None,
                "newerWeights": None, "height": None, "medications": None, "conditions": None, "eligibility": None,
                "ketamineOrders": None, "pregnancyStatus": None}
    hook = "order-sign" if service_id == SIGN else "order-select"
    body = hook_request(hook, patient_id, [_draft(patient_id)], prefetch=prefetch)
    answer = stack.call(ehr.token(stack.aud(service_id)), body, service_id)
    assert answer.status_code == 200, answer.text
    critical = [c for c in answer.json()["cards"] if c["indicator"] == "critical"]
    assert critical, answer.json()
    return critical[0]["uuid"], body["context"]["userId"]


def test_feedback_is_stored_once_with_who_and_why_however_often_it_is_sent(stack: Stack, data_dir: Path) -> None:
    aud = stack.aud(suffix="/feedback")
    card, user_id = _returned_card(stack, "p-feedback-1")
    at = datetime.now(timezone.utc).isoformat()
    reason = {"reason": {"system": "https://ketalink.example.org/fhir/CodeSystem/cds-override-reason",
                         "code": "clinician-reviewed"}, "userComment": "weighed today on the ward"}
    body = _feedback(card, "overridden", at, overrideReason=reason)
    answers = [requests.post(aud, json=body, timeout=10,
                             headers={"Authorization": f"Bearer {stack.pinned.token(aud)}"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["stored"] for a in answers] == [1, 0, 0]
    engine = create_engine(database_url("orders", data_dir))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT outcome, override_reason, actor, iss, service_id, patient_id FROM "
                                 "cds_feedback WHERE card_uuid = :card"), {"card": card}).all()
    engine.dispose()
    assert len(rows) == 1
    outcome, stored_reason, actor, iss, service_id, patient_id = rows[0]
    # The override is the prescriber's (the hook's context.userId), for the hook's patient; not the EHR's client.
    assert user_id == "Practitioner/prescriber-1"
    assert (outcome, actor, iss, service_id, patient_id) == ("overridden", user_id, stack.pinned.iss, SIGN,
                                                             "p-feedback-1")
    assert json.loads(stored_reason)["reason"]["code"] == "clinician-reviewed"


@pytest.mark.parametrize("item", [
    {"outcome": "overridden"},  # no reason
    {"outcome": "rejected"},
    {"outcome": "accepted", "overrideReason": {"reason": {"system": "s", "code": "c"}}},
    {"outcome": "accepted", "overrideReason": None},
    {"outcome": "ignored", "outcomeTimestamp": "yesterday"},
    {"outcome": "ignored", "outcomeTimestamp": "0001-01-01T00:00:00-05:00"},
    {"outcome": "ignored", "outcomeTimestamp": "2026-12-07T10:00:00"},  # no offset
    {"outcome": "ignored", "outcomeTimestamp": "2026-12-07 10:00:00+00:00"},  # ISO 8601, not RFC 3339
])
def test_bad_feedback_is_a_400_and_feedback_needs_a_token_for_its_own_url(stack: Stack, item: dict[str, Any]
                                                                          ) -> None:
    aud = stack.aud(suffix="/feedback")
    body = {"feedback": [{"card": str(uuid.uuid4()), "outcomeTimestamp": datetime.now(timezone.utc).isoformat()}
                         | item]}
    answer = requests.post(aud, json=body, timeout=10, headers={"Authorization": f"Bearer {stack.pinned.token(aud)}"})
    assert answer.status_code == 400, answer.text
    hook_token = requests.post(aud, json=body, timeout=10,
                               headers={"Authorization": f"Bearer {stack.pinned.token(stack.aud())}"})
    assert hook_token.status_code == 401  # a token for the hook is not one for its feedback


def test_the_ehr_s_prefetch_gives_the_same_cards_as_reading_the_ehr(stack: Stack, ehr: Any) -> None:
    patient_id = patient_id_for(ehr, "KL-1004")  # weighed in lb: the prefetch goes through the same translator
    client = ehr.client
    weights = client.search_first_page("Observation", {
        "subject": f"Patient/{patient_id}", "code": "http://loinc.org|29463-7", "status": "final,amended,corrected",
        "_sort": "-date", "_count": 1})
    assert weights, "the seeded patient has a weight"
    prefetch = {"patient": client.read("Patient", patient_id),
                "weight": {"resourceType": "Bundle", "type": "searchset",
                           "entry": [{"resource": w, "search": {"mode": "match"}} for w in weights]},
                "newerWeights": None, "height": None, "medications": None, "conditions": None, "eligibility": None,
                "ketamineOrders": None, "pregnancyStatus": None}
    draft = _draft(patient_id, mg_per_kg=2.0)
    read = _summaries(stack.call(stack.pinned.token(stack.aud()), _from_ehr(ehr, "order-sign", patient_id, [draft])))
    given = _summaries(stack.call(stack.pinned.token(stack.aud()),
                                  hook_request("order-sign", patient_id, [draft], prefetch=prefetch)))
    assert read and sorted(read) == sorted(given)


@pytest.mark.skipif(os.environ.get("KETALINK_TEST_FHIR") == "hapi",
                    reason="stock HAPI FHIR (make test-hapi) enforces no authorization: it refuses no token")
def test_a_token_the_ehr_refuses_is_a_412(stack: Stack, ehr: Any) -> None:
    patient_id = patient_id_for(ehr, "KL-1002")
    body = hook_request("order-sign", patient_id, [_draft(patient_id)], fhir_server=ehr.base_url,
                        token="not-a-token-the-ehr-issued")
    answer = stack.call(stack.pinned.token(stack.aud()), body)
    assert answer.status_code == 412, answer.text
    assert answer.json()["issue"][0]["expression"] == ["fhirAuthorization"]


def test_accepted_feedback_keeps_the_suggestions_taken(stack: Stack, data_dir: Path) -> None:
    aud = stack.aud(SELECT, "/feedback")
    card, _ = _returned_card(stack, "p-feedback-2", SELECT)
    body = _feedback(card, "accepted", "2026-12-07T10:00:00+01:00", acceptedSuggestions=[{"id": "s-1"}])
    answer = requests.post(aud, json=body, timeout=10, headers={"Authorization": f"Bearer {stack.pinned.token(aud)}"})
    assert answer.status_code == 200 and answer.json() == {"stored": 1}
    same_instant = _feedback(card, "accepted", "2026-12-07T09:00:00Z", acceptedSuggestions=[{"id": "s-1"}])
    again = requests.post(aud, json=same_instant, timeout=10,
                          headers={"Authorization": f"Bearer {stack.pinned.token(aud)}"})
    assert again.json() == {"stored": 0}  # the same moment written with another offset is the same feedback
    engine = create_engine(database_url("orders", data_dir))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT service_id, accepted_suggestions FROM cds_feedback WHERE card_uuid = :c"),
                            {"c": card}).all()
    engine.dispose()
    assert [(r[0], json.loads(r[1])) for r in rows] == [(SELECT, ["s-1"])]


def _refused_card(answer: requests.Response) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert answer.json()["issue"][0]["expression"] == ["feedback[1].card"], answer.json()


def test_feedback_on_a_card_this_service_never_returned_or_another_ehr_s_is_a_400_and_stores_nothing(
        stack: Stack, data_dir: Path) -> None:
    mine, _ = _returned_card(stack, "p-feedback-3")
    theirs, _ = _returned_card(stack, "p-feedback-3", ehr=stack.by_url)  # the other trusted EHR's hook call
    select_card, _ = _returned_card(stack, "p-feedback-3", SELECT)
    aud = stack.aud(suffix="/feedback")
    at = datetime.now(timezone.utc).isoformat()

    def send(other: str) -> requests.Response:
        body = {"feedback": [{"card": mine, "outcome": "ignored", "outcomeTimestamp": at},
                             {"card": other, "outcome": "ignored", "outcomeTimestamp": at}]}
        return requests.post(aud, json=body, timeout=10, headers={"Authorization": f"Bearer {stack.pinned.token(aud)}"})

    _refused_card(send(str(uuid.uuid4())))  # never returned
    _refused_card(send(theirs))  # returned, but to the other EHR
    _refused_card(send(select_card))  # returned by order-select, not by this service
    engine = create_engine(database_url("orders", data_dir))
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM cds_feedback WHERE card_uuid = :c"), {"c": mine}).scalar_one()
        kept = conn.execute(text("SELECT user_id, patient_id, iss FROM cds_cards WHERE card_uuid = :c"),
                            {"c": theirs}).one()
    engine.dispose()
    assert stored == 0  # a body with one refused item stores none of its items
    assert tuple(kept) == ("Practitioner/prescriber-1", "p-feedback-3", stack.by_url.iss)
    # The other EHR's own feedback on its card is taken.
    their_aud = stack.aud(suffix="/feedback")
    answer = requests.post(their_aud, json=_feedback(theirs, "ignored", at), timeout=10,
                           headers={"Authorization": f"Bearer {stack.by_url.token(their_aud)}"})
    assert answer.status_code == 200 and answer.json() == {"stored": 1}, answer.text
