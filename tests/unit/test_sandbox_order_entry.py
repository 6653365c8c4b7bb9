"""The sandbox order entry's pure parts: the prefetch template filler (a token without a value leaves the key out,
so the CDS service reads it itself), the order form's refusals and the draft it composes, and its settings."""
from __future__ import annotations

import pytest

from deploy.ehr_sandbox.order_entry.cds_client import fill_template
from deploy.ehr_sandbox.order_entry.draft import FormError, OrderForm, draft_order, placed_order
from deploy.ehr_sandbox.order_entry.settings import OrderEntrySettings
from services.orders.cds_hooks.discovery import PREFETCH

FORM = {"strength": "10", "dose": "0.5", "dose_unit": "mg/kg", "duration": "40", "infusions": "6", "reason": "trd"}


def test_every_discovery_template_is_filled_from_the_patient_and_user():
    tokens = {"context.patientId": "p1", "context.userId": "Practitioner/u1", "userPractitionerId": "u1"}
    for key, template in PREFETCH.items():
        filled = fill_template(template, tokens)
        assert filled is not None and "{{" not in filled and "p1" in filled, key
    assert fill_template("Encounter/{{context.encounterId}}", tokens) is None
    assert fill_template("Patient/{{ context.patientId }}", tokens) == "Patient/p1"


@pytest.mark.parametrize("field, value", [
    ("strength", "20"), ("dose", "-1"), ("dose", "nan"), ("dose", "abc"), ("dose_unit", "g"), ("duration", "0"),
    ("infusions", "0"), ("reason", "x"), ("reason", "other"),
])
def test_order_form_refuses_a_bad_value_naming_the_field(field, value):
    with pytest.raises(FormError) as refused:
        OrderForm.read(FORM | {field: value})
    assert refused.value.field in (field, "reason_text")


def test_draft_is_a_coded_draft_and_placing_makes_it_active():
    form = OrderForm.read(FORM | {"dose": "2"})
    draft = draft_order(form, "p1", {"reference": "Practitioner/u1", "display": "Dr. X"}, "e1")
    assert draft["status"] == "draft" and draft["id"].startswith("draft-")
    assert draft["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 2.0
    assert draft["dispenseRequest"]["numberOfRepeatsAllowed"] == 5
    assert draft["reasonCode"][0]["coding"][0]["code"] == "trd"
    assert draft["encounter"] == {"reference": "Encounter/e1"}
    placed = placed_order(draft)
    assert placed["status"] == "active" and "id" not in placed and placed["identifier"] == draft["identifier"]
    other = OrderForm.read(FORM | {"reason": "other", "reason_text": "Bipolar depression"})
    assert draft_order(other, "p1", {}, None)["reasonCode"] == [{"text": "Bipolar depression"}]


def test_settings_refuse_an_unknown_default_reason_and_a_bad_url():
    with pytest.raises(ValueError):
        OrderEntrySettings(default_reason="anything").validate()
    with pytest.raises(ValueError):
        OrderEntrySettings(cds_base_url="ftp://x").validate()
    OrderEntrySettings().validate()


def test_the_draft_codes_the_ordered_dose_as_the_orders_cpoe_translator_reads_it():
    from services.orders.translators.codes import DOSE_ORDERED as READ_BY_ORDERS
    from deploy.ehr_sandbox.order_entry.draft import DOSE_ORDERED
    assert (DOSE_ORDERED.system, DOSE_ORDERED.code) == (READ_BY_ORDERS.system, READ_BY_ORDERS.code)


# -- card detail: CDS Hooks Markdown, rendered safely ---------------------------------------------------------------
def test_card_detail_markdown_is_rendered_as_html():
    from deploy.ehr_sandbox.order_entry.card_markdown import render_detail
    html = str(render_detail("- dose above the range\n- weight stale\n\nClinic protocol settings: `max` = 1.\n\n"
                             "# Why\n\n| a | b |\n|---|---|\n| 1 | 2 |"))
    assert "<ul>\n<li>dose above the range</li>" in html and "<code>max</code>" in html
    assert "<h3>Why</h3>" in html and "<h1" not in html  # headings below the card's own h2
    assert "<td>1</td>" in html  # GFM table
    assert str(render_detail(None)) == "" and str(render_detail(42)) == ""


@pytest.mark.parametrize("markdown, shown_as_text", [
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ('<img src=x onerror="alert(1)">', "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"),
    ('<a href="javascript:alert(1)">x</a>', "&lt;a href=&quot;javascript:alert(1)&quot;&gt;"),
    ("[x](javascript:alert(1))", "[x](javascript:alert(1))"),
    ("[x](JavaScript:alert(1))", "[x](JavaScript:alert(1))"),
    ("[x](&#106;avascript:alert(1))", "[x](javascript:alert(1))"),
    ("[x](data:text/html,hi)", "[x](data:text/html,hi)"),
    ("[x](/chart/launch)", "[x](/chart/launch)"),
    ("[x](ftp://files.example.org/a)", "[x](ftp://files.example.org/a)"),
])
def test_card_detail_escapes_html_and_links_only_http_urls(markdown, shown_as_text):
    from deploy.ehr_sandbox.order_entry.card_markdown import render_detail
    html = str(render_detail(markdown))
    assert shown_as_text in html
    assert "<a " not in html and "<script" not in html and "<img" not in html


def test_card_detail_http_links_open_apart_and_images_are_not_fetched():
    from deploy.ehr_sandbox.order_entry.card_markdown import render_detail
    html = str(render_detail("See [the protocol](https://clinic.example.org/protocol) or <http://a.example>. "
                             "![chart](https://tracker.example/pixel.png)"))
    assert ('<a href="https://clinic.example.org/protocol" target="_blank" rel="noopener noreferrer">the protocol</a>'
            in html)
    assert '<a href="http://a.example"' in html
    assert "<img" not in html  # an image would be fetched unseen: shown as a link to it instead


# -- the orders service's answer to a placed order -----------------------------------------------------------------
def _answer_message(placed: dict, code: str, issues: list[dict]):
    """A real response message to a real ``cpoe-order-placed`` message, decoded as the engine's consumer does."""
    import json as _json
    from shared.events.consumer import decode
    from shared.events.event_codes import CPOE_ORDER_RESPONSE
    from shared.fhir.messaging import ResponseCode, build_response
    outcome = {"resourceType": "OperationOutcome", "issue": issues}
    response = build_response(decode(_json.dumps(placed).encode()), ResponseCode(code), "urn:ketalink:orders",
                              outcome, event_code=CPOE_ORDER_RESPONSE)
    return decode(_json.dumps(response).encode())


def _placed_message() -> dict:
    from deploy.ehr_sandbox.ehr_events import EHR_ENDPOINT
    from shared.events.event_codes import CPOE_ORDER_PLACED
    from shared.fhir.messaging import build_message
    draft = draft_order(OrderForm.read(FORM), "p1", {"reference": "Practitioner/u1"}, None)
    order = placed_order(draft) | {"id": "mr-1"}
    return build_message(CPOE_ORDER_PLACED, EHR_ENDPOINT, [order], with_provenance=False)


def test_answers_are_kept_by_the_placed_message_and_survive_a_restart(tmp_path):
    from deploy.ehr_sandbox.order_entry.answers import STORE_FILE, answer_view, response_handlers
    from deploy.ehr_sandbox.order_entry.entries import Entries
    from shared.events.event_codes import CPOE_ORDER_RESPONSE
    placed = _placed_message()
    message_id = placed["entry"][0]["resource"]["id"]
    entries = Entries(tmp_path / STORE_FILE)
    assert answer_view(entries.answer(message_id)).status == "waiting"
    record = response_handlers(tmp_path)[CPOE_ORDER_RESPONSE]
    refused = _answer_message(placed, "fatal-error", [
        {"severity": "error", "code": "business-rule", "details": {"text": "dose 2 mg/kg is above 1 mg/kg"},
         "expression": ["MedicationRequest.dosageInstruction[0]"]}])
    record(refused, None)
    record(refused, None)  # a redelivery changes nothing
    view = answer_view(Entries(tmp_path / STORE_FILE).answer(message_id))  # a new store: a restarted sandbox
    assert view.status == "refused" and view.headline == "Refused by Ketalink"
    assert view.lines == ("dose 2 mg/kg is above 1 mg/kg (MedicationRequest.dosageInstruction[0])",)
    record(_answer_message(placed, "ok", [{"severity": "information", "code": "informational",
                                           "details": {"text": "accepted as Ketalink order o1 (series s1)"}}]), None)
    view = answer_view(entries.answer(message_id))
    assert view.status == "accepted" and view.lines == ("accepted as Ketalink order o1 (series s1)",)
    assert answer_view(entries.answer("another-message")).status == "waiting"


def test_entries_survive_a_restart_and_are_placed_once(tmp_path):
    from deploy.ehr_sandbox.order_entry.entries import Entries
    draft = draft_order(OrderForm.read(FORM), "p1", {"reference": "Practitioner/u1"}, None)
    entries = Entries(tmp_path / "order-entry.db")
    entry = entries.new("dr.okoye", "p1", "e1", draft)
    entry.hook, entry.cards = "order-sign", [{"uuid": "c1", "indicator": "critical", "summary": "dose"}]
    entries.save(entry)
    assert entries.get(entry.entry_id, "nurse.ng") is None  # only the user who started it
    assert entries.claim_placing(entry.entry_id) and not entries.claim_placing(entry.entry_id)  # a double click

    restarted = Entries(tmp_path / "order-entry.db")  # the claim of a process that stopped mid-place is released
    again = restarted.get(entry.entry_id, "dr.okoye")
    assert again is not None and again.draft == draft and again.critical_cards() == entry.cards and again.signed
    assert restarted.claim_placing(entry.entry_id)
    restarted.placed(again, "m-1")
    assert not restarted.claim_placing(entry.entry_id)  # placed: never again
    assert Entries(tmp_path / "order-entry.db").get(entry.entry_id, "dr.okoye").placed_message_id == "m-1"


def test_a_draft_left_open_past_its_lifetime_is_gone_a_placed_order_stays(tmp_path):
    from deploy.ehr_sandbox.order_entry.entries import Entries
    draft = draft_order(OrderForm.read(FORM), "p1", {"reference": "Practitioner/u1"}, None)
    entries = Entries(tmp_path / "order-entry.db", entry_lifetime_s=60)
    left, placed = entries.new("dr.okoye", "p1", None, draft), entries.new("dr.okoye", "p1", None, draft)
    entries.placed(placed, "m-2")
    import sqlite3
    with sqlite3.connect(tmp_path / "order-entry.db") as db:
        db.execute("UPDATE order_entries SET created = created - 120")
    assert entries.get(left.entry_id, "dr.okoye") is None
    assert entries.get(placed.entry_id, "dr.okoye") is not None


# -- who may order -------------------------------------------------------------------------------------------------
def test_physicians_and_nurse_practitioners_may_order_a_registered_nurse_may_not():
    from deploy.ehr_sandbox.smart.settings import DEMO_USERS, PRACTITIONER_ROLE_SYSTEM, SNOMED
    settings = OrderEntrySettings()
    users = {user.username: user for user in DEMO_USERS}
    assert settings.may_order(users["dr.okoye"].role_codes)
    assert not settings.may_order(users["nurse.ng"].role_codes)
    assert settings.may_order([(SNOMED, "224571005", "Nurse practitioner")])
    assert not settings.may_order([(PRACTITIONER_ROLE_SYSTEM, "pharmacist", "Pharmacist")])


def test_who_may_order_is_configured_from_the_environment_and_validated():
    from shared.config import SettingsError, load_settings
    from deploy.ehr_sandbox.smart.settings import PRACTITIONER_ROLE_SYSTEM
    settings = load_settings(OrderEntrySettings, "EHR_SANDBOX_ORDER_ENTRY_", {
        "EHR_SANDBOX_ORDER_ENTRY_PRESCRIBER_ROLE_CODES": f"{PRACTITIONER_ROLE_SYSTEM}|nurse, urn:oid:1.2.3|md"})
    assert settings.may_order([(PRACTITIONER_ROLE_SYSTEM, "nurse", "Nurse")])
    assert not settings.may_order([(PRACTITIONER_ROLE_SYSTEM, "doctor", "Doctor")])
    for value in ("doctor", ",", "snomed|309343006"):
        with pytest.raises(SettingsError):
            load_settings(OrderEntrySettings, "EHR_SANDBOX_ORDER_ENTRY_",
                          {"EHR_SANDBOX_ORDER_ENTRY_PRESCRIBER_ROLE_CODES": value})


def test_the_cds_client_prefetches_a_list_over_its_pages_and_the_latest_one_as_one_page(tmp_path):
    """On a real socket: the problem list's second page reaches the CDS service (a contraindication there is still
    the patient's); "the latest one" (``_count``) is one page; a list whose next links never end is left out after
    the service's own page limit (the service then reads it itself and refuses the check, 412)."""
    import json
    from urllib.parse import parse_qs, urlsplit

    from deploy.ehr_sandbox.order_entry.cds_client import CdsClient, signing_key
    from shared.cds_prefetch_template import MAX_LIST_PAGES
    from shared.fhir.client import FhirClient
    from tests.unit.shared.recording_server import recording_server

    templates = {"conditions": "Condition?patient={{context.patientId}}",
                 "weight": "Observation?patient={{context.patientId}}&code=29463-7&_sort=-date&_count=1",
                 "ketamineOrders": "MedicationRequest?subject=Patient/{{context.patientId}}&status=active"}
    base = {}

    def page(resources, next_url=None):
        bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}
        return bundle | ({"link": [{"relation": "next", "url": next_url}]} if next_url else {})

    def answers(method, path):
        url = urlsplit(path)
        query = parse_qs(url.query)
        if url.path.endswith("/cds-services") and method == "GET":
            return 200, {"services": [{"hook": "order-sign", "id": "ketamine-sign", "prefetch": templates}]}
        if url.path.endswith("/cds-services/ketamine-sign"):
            return 200, {"cards": []}
        if url.path.endswith("/Condition"):
            if "page" not in query:
                return 200, page([{"resourceType": "Condition", "id": "c1"}], f"{base['url']}/Condition?page=2")
            return 200, page([{"resourceType": "Condition", "id": "c2"}])
        if url.path.endswith("/Observation"):  # says more follow: "the latest one" must not follow it
            return 200, page([{"resourceType": "Observation", "id": "w1"}], f"{base['url']}/Observation?page=2")
        return 200, page([], f"{base['url']}/MedicationRequest?page=again")  # never ends

    with recording_server(answers) as server:
        base["url"] = server.base_url
        client = CdsClient(server.base_url, "https://ehr.example.test", signing_key(tmp_path / "cds.pem"),
                           FhirClient(server.base_url, timeout_s=5, retries=0), server.base_url, lambda scope: "t",
                           timeout_s=5, token_lifetime_s=300)
        client.call("order-sign", "p1", "Practitioner/u1", None,
                    {"resourceType": "MedicationRequest", "id": "d1", "status": "draft"})
    posted = json.loads(next(r.body for r in server.requests if r.method == "POST"))
    prefetch = posted["prefetch"]
    assert [e["resource"]["id"] for e in prefetch["conditions"]["entry"]] == ["c1", "c2"]
    assert prefetch["conditions"]["total"] == 2
    assert [e["resource"]["id"] for e in prefetch["weight"]["entry"]] == ["w1"]
    assert "ketamineOrders" not in prefetch
    paths = [urlsplit(r.path).path for r in server.requests if r.method == "GET"]
    assert paths.count("/fhir/Observation") == 1 and paths.count("/fhir/Condition") == 2
    assert paths.count("/fhir/MedicationRequest") == MAX_LIST_PAGES
