"""A CDS Hooks body of any JSON shape is read to cards or refused with a 4xx naming the field, never an exception:
random JSON put anywhere in a realistic order-sign body (context, draft orders, every prefetch key, each Bundle
entry and its ``search``) goes through what the hook service does with it (``read_hook_request``,
``resolve_prefetch``, ``patient_context`` with a real orders store on SQLite, ``ketamine_drafts``, ``cards_for``).
The prefetch is complete, so no EHR is called; the same campaign over HTTP is tests/integration/orders/
test_cds_hooks_fuzz.py."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from shared.events.kafka_clients import KafkaSettings
from shared.fhir.codes import SNOMED
from shared.fhir.datatypes import quantity
from shared.runtime import ServiceRuntime, ServiceSettings
from shared.web import ApiError
from services.orders.cds_hooks.cards import Hook, cards_for
from services.orders.cds_hooks.context import CardSettings, medications_from_fhir
from services.orders.cds_hooks.ehr_findings import is_ketamine
from services.orders.cds_hooks.facts import ketamine_drafts, patient_context
from services.orders.cds_hooks.prefetch import resolve_prefetch
from services.orders.cds_hooks.request import read_hook_request
from services.orders.handlers import OrdersService
from tests.unit.orders.builders import NOW, PATIENT, cpoe_medication_request, risk_assessment, settings, \
    weight_observation
from tests.support.json_paths import changed_at, json_paths

EXAMPLES = 300
KEYS = ("resourceType", "entry", "resource", "search", "mode", "coding", "code", "system", "text", "subject",
        "reference", "status", "id", "contained", "valueQuantity", "value", "link", "url")
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 40, 2 ** 40), st.floats(allow_nan=False),
                    st.text(max_size=12), st.sampled_from(["Bundle", "Patient", "Observation", "match", "include",
                                                           "MedicationRequest", "Condition", "#m"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4), max_leaves=10)


def _searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources]}


def body() -> dict[str, Any]:
    """An order-sign request with every prefetch key filled with realistic resources."""
    draft = cpoe_medication_request(status="draft", id="draft-1")
    sertraline = {"resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
                  "subject": {"reference": f"Patient/{PATIENT}"},
                  "medicationCodeableConcept": {"text": "sertraline", "coding": [
                      {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "36437"}]}}
    condition = {"resourceType": "Condition", "id": "c1", "subject": {"reference": f"Patient/{PATIENT}"},
                 "code": {"coding": [{"system": SNOMED, "code": "38341003", "display": "Hypertension"}]}}
    return {"hook": "order-sign", "hookInstance": "6b1e1c1e-3d5a-4f39-9a55-0c9a3f1d2b7e",
            "context": {"userId": "Practitioner/pr-7", "patientId": PATIENT,
                        "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                        "entry": [{"resource": draft}]}},
            "prefetch": {"patient": {"resourceType": "Patient", "id": PATIENT, "gender": "female"},
                         "weight": _searchset(weight_observation()), "newerWeights": None, "height": None,
                         "medications": _searchset(sertraline), "conditions": _searchset(condition),
                         "pregnancyStatus": None, "eligibility": _searchset(risk_assessment(id="ra-1")),
                         "ketamineOrders": _searchset(cpoe_medication_request(id="mr-2"))}}


@pytest.fixture
def orders(tmp_path: Path) -> OrdersService:
    runtime = ServiceRuntime("orders", ServiceSettings(database_url=f"sqlite:///{tmp_path / 'orders.db'}"),
                             KafkaSettings())
    return OrdersService(runtime, settings(), clock=lambda: NOW)


def answer(request_body: Any, orders: OrdersService) -> list[dict[str, Any]]:
    """The cards the hook service would answer with (``CdsHooksService.answer_hook`` without the caller's JWT and
    its fhirServer trust check)."""
    request = read_hook_request(request_body, "order-sign")
    resources = resolve_prefetch(request, request.fhir_server, timeout_s=5.0)  # the test's EHR is trusted
    draft_ids = frozenset(str(d["id"]) for d in request.draft_orders if d.get("id"))
    context = patient_context(request.patient_id, resources, orders, lambda *_: (), NOW, draft_ids)
    card_settings = CardSettings(settings(), "https://orders.example.test/launch")
    return [card.json() for draft in ketamine_drafts(request.draft_orders, request.selections)
            for card in cards_for(draft, context, card_settings, Hook.ORDER_SIGN)]


def test_the_realistic_body_is_answered_with_cards(orders: OrdersService) -> None:
    """The template reaches the cards (so the campaign below breaks a body that gets that far)."""
    topics = {card["source"]["topic"]["code"] for card in answer(body(), orders)}
    assert "ketamine-elsewhere" in topics and "eligibility" in topics, topics


def test_any_json_anywhere_in_the_body_is_cards_or_a_4xx_naming_the_field(orders: OrdersService) -> None:
    template = body()
    paths = sorted(set(json_paths(template)), key=repr)
    # The envelopes (context, draftOrders, each prefetch Bundle, entry, search) drawn as often as the resources'
    # many elements: that is where the readers' own code runs before any validation.
    envelopes = [p for p in paths if "resource" not in p[:-1]]
    refused: dict[int, int] = {}

    @hypothesis_settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(path=st.sampled_from(paths) | st.sampled_from(envelopes), value=JSON, remove=st.booleans())
    def check(path: tuple[Any, ...], value: Any, remove: bool) -> None:
        try:
            answer(changed_at(template, path, value, remove), orders)
        except ApiError as error:
            assert error.status in (400, 412), error
            assert all(field for field, _ in error.issues), f"{error} names no field"
            refused[error.status] = refused.get(error.status, 0) + 1

    check()
    assert refused.get(400), "the campaign never reached a refusal: the body is not being broken"


@pytest.mark.parametrize(("entry", "field"), [
    ({"resource": {"resourceType": "Patient", "id": PATIENT}, "search": 5}, "prefetch.patient.entry[0].search"),
    ({"resource": {"resourceType": "Patient", "id": PATIENT}, "search": None}, "prefetch.patient.entry[0].search"),
    ({"resource": {"resourceType": "Patient", "id": PATIENT}, "search": {"mode": 1}},
     "prefetch.patient.entry[0].search.mode"),
    ({"resource": None}, "prefetch.patient.entry[0].resource"),
    ({"resource": {"id": PATIENT}}, "prefetch.patient.entry[0].resource"),
    (7, "prefetch.patient.entry[0]"),
])
def test_a_prefetch_bundle_entry_of_the_wrong_shape_is_a_400_naming_it(orders: OrdersService, entry: Any,
                                                                        field: str) -> None:
    """Refused, not skipped: a skipped entry could be the condition that contraindicates the order."""
    request_body = body()
    request_body["prefetch"]["patient"] = {"resourceType": "Bundle", "type": "searchset", "entry": [entry]}
    with pytest.raises(ApiError) as refused:
        answer(request_body, orders)
    assert refused.value.status == 400 and refused.value.issues[0][0] == field and field in str(refused.value)


def test_an_include_entry_is_not_read_as_the_patients(orders: OrdersService) -> None:
    request_body = body()
    conditions = request_body["prefetch"]["conditions"]
    conditions["entry"][0]["search"]["mode"] = "include"
    assert "contraindication" not in {c["source"]["topic"]["code"] for c in answer(request_body, orders)}


def test_a_json_null_in_a_prefetch_resource_is_a_400_naming_it(orders: OrdersService) -> None:
    request_body = body()
    request_body["prefetch"]["weight"]["entry"][0]["resource"]["valueQuantity"]["unit"] = None
    with pytest.raises(ApiError) as refused:
        answer(request_body, orders)
    assert refused.value.status == 400 and refused.value.issues[0][0] == "prefetch.weight"
    assert "Observation.valueQuantity.unit" in str(refused.value) and "null" in str(refused.value)


def test_a_draft_with_a_json_null_gets_the_unreadable_card_naming_it(orders: OrdersService) -> None:
    """``"doseQuantity": null`` would be read as present by the rules: the draft is not read at all."""
    request_body = body()
    draft = request_body["context"]["draftOrders"]["entry"][0]["resource"]
    draft["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"] = None
    cards = answer(request_body, orders)
    unreadable = [c for c in cards if c["source"]["topic"]["code"] == "unreadable"]
    assert unreadable and unreadable[0]["indicator"] == "critical", cards
    assert "dosageInstruction[0].doseAndRate[0].doseQuantity" in unreadable[0]["detail"]


def test_a_contained_resource_whose_code_is_a_plain_code_is_not_a_medication() -> None:
    """Valid FHIR (a contained SearchParameter's ``code`` is a code, not a concept): no medication, no crash."""
    search_parameter = {"resourceType": "SearchParameter", "id": "m", "url": "https://example.org/sp",
                        "name": "n", "status": "active", "description": "d", "code": "abc", "base": ["Patient"],
                        "type": "token"}
    resource = {"resourceType": "MedicationRequest", "id": "x", "status": "active", "intent": "order",
                "subject": {"reference": f"Patient/{PATIENT}"}, "medicationReference": {"reference": "#m"},
                "contained": [search_parameter]}
    assert medications_from_fhir([resource]) == () and not is_ketamine(resource)
    named = resource | {"medicationReference": {"reference": "#m", "display": "ketamine 10 mg/mL"}}
    assert is_ketamine(named) and medications_from_fhir([named])[0].name == "ketamine 10 mg/mL"


def test_a_ketamine_dose_given_as_a_number_of_the_wrong_json_type_is_unreadable(orders: OrdersService) -> None:
    request_body = body()
    draft = request_body["context"]["draftOrders"]["entry"][0]["resource"]
    draft["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"] = quantity(0.5, "mg/kg") | {"value": "0.5"}
    unreadable = [c for c in answer(request_body, orders) if c["source"]["topic"]["code"] == "unreadable"]
    assert unreadable and "doseQuantity.value" in unreadable[0]["detail"]


def test_a_list_sent_as_its_first_page_only_is_read_whole_from_the_ehr(orders: OrdersService) -> None:
    """An EHR whose prefetch holds the problem list's first page with a ``next`` link (as the sandbox's client did):
    the key is read whole from the EHR, so an absolute contraindication on page 2 is carded; without a fhirServer
    to read it from, the check is refused (412), never made on part of the list."""
    from urllib.parse import parse_qs, urlsplit

    from shared.fhir.codes import CONDITION_CLINICAL
    from tests.unit.shared.recording_server import recording_server

    haemorrhage = {"resourceType": "Condition", "id": "c2", "subject": {"reference": f"Patient/{PATIENT}"},
                   "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
                   "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I61.9"}]}}
    first = body()
    first["prefetch"]["conditions"]["link"] = [{"relation": "next", "url": "https://ehr.example.test/page2"}]
    first["prefetch"]["weight"]["link"] = [{"relation": "next", "url": "https://ehr.example.test/older"}]
    base: dict[str, str] = {}

    def answers(method: str, path: str) -> tuple[int, dict[str, Any]]:
        url = urlsplit(path)
        if url.path.endswith("/Condition") and "page" not in parse_qs(url.query):
            return 200, _searchset(*[e["resource"] for e in body()["prefetch"]["conditions"]["entry"]]) | {
                "link": [{"relation": "next", "url": f"{base['url']}/Condition?page=2"}]}
        if url.path.endswith("/Condition"):
            return 200, _searchset(haemorrhage)
        return 404, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}

    with pytest.raises(ApiError) as refused:
        answer(first, orders)
    assert refused.value.status == 412 and "conditions" in str(refused.value) and "first page" in str(refused.value)
    with recording_server(answers) as ehr:
        base["url"] = ehr.base_url
        first["fhirServer"] = ehr.base_url
        cards = answer(first, orders)
    assert [urlsplit(r.path).path for r in ehr.requests] == ["/fhir/Condition", "/fhir/Condition"]  # weight: as sent
    contraindication = [c for c in cards if c["source"]["topic"]["code"] == "contraindication"]
    assert contraindication and "Condition/c2" in contraindication[0]["detail"], cards
