"""The sandbox EHR's order entry in a real browser, as dr.okoye: the sandbox is the CDS Hooks client of the real
orders service (its own signed JWTs, prefetch from its own FHIR store, a fhirAuthorization token of its own). A
draft with a wrong dose gets a critical card on order-sign; placing it without an override reason is refused and
nothing is placed; overridden with a reason, the override reaches the service's cds_feedback table before the order
is placed (and the orders service's own CPOE check still rejects the dose); accepting the card's suggestion
replaces the draft with the protocol-correct order, order-sign runs again, the acceptance reaches cds_feedback, and
the placed order (cpoe-order-placed) is accepted by the orders service as an active series. Each placed order's page
shows the orders service's answer (cpoe-order-response, received by the sandbox's integration engine) once it
arrives, without a reload; the card's Markdown detail is rendered as HTML. An entry and its answer survive a restart
of the sandbox (its own store); an order Ketalink refused is discontinued in the EHR from its page."""
from __future__ import annotations

import json
import sqlite3

import pytest
from playwright.sync_api import expect

from deploy.ehr_sandbox.ehr_events import EHR_ORDER_SYSTEM
from deploy.ehr_sandbox.order_entry.cds_client import CLIENT_ID
from deploy.ehr_sandbox.seed import SEED_SYSTEM
from deploy.ehr_sandbox.smart.settings import DEMO_USERS
from shared.events.topics import INTAKE_EVENTS, ORDERS_EVENTS
from tests.browser.axe import assert_accessible
from tests.browser.conftest import DEMO_PASSWORD, launch_from_chart, screenshot
from tests.integration.orders.support import eligibility_message, patient_of_its_own, responses_to
from tests.support.kafka_tools import publish, wait_for

pytestmark = pytest.mark.integration

JSON = {"Accept": "application/json"}
WRONG_MG_PER_KG = "2"  # well above any protocol's range: order-sign answers with a critical card
ANSWER_WAIT_MS = 60_000  # the orders service's answer: broker → orders → broker → the sandbox's engine


def _answer_shown(page, status: str) -> object:
    """The placed order's page shows the answer by itself (it polls while waiting): no reload here."""
    answer = page.get_by_test_id("order-answer")
    expect(answer).to_have_attribute("data-answer-status", status, timeout=ANSWER_WAIT_MS)
    return answer


def _active_orders_in_ehr(stack, patient_id: str) -> list[dict]:
    return [order for order in stack.ehr_client.search("MedicationRequest", {"subject": f"Patient/{patient_id}"})
            if order.get("status") == "active"
            and any(i.get("system") == EHR_ORDER_SYSTEM for i in order.get("identifier", []))]


def _withdraw_refused_order(page, stack, patient_id: str) -> None:
    """A refused order's page offers to discontinue it: then it is no longer active in the EHR."""
    assert len(_active_orders_in_ehr(stack, patient_id)) == 1
    page.get_by_role("button", name="Discontinue this order").click()
    expect(page.get_by_test_id("order-withdrawn")).to_be_visible()
    assert _active_orders_in_ehr(stack, patient_id) == []


def _override_every_critical_card(page) -> None:
    for select in page.get_by_test_id("override-reason").all():
        select.select_option(index=1)


def _orders_api(page, stack, path: str) -> dict:
    answer = page.request.get(f"{stack.services['orders']}{path}", headers=JSON)
    assert answer.ok, answer.text()
    return answer.json()


def _eligible(page, stack, patient_id: str) -> None:
    message = eligibility_message(patient_id, "eligible", "active")
    intake_id = message["entry"][1]["resource"]["identifier"][0]["value"]
    publish(stack.bootstrap, INTAKE_EVENTS, message, key=patient_id)
    wait_for(lambda: (answer := page.request.get(f"{stack.services['orders']}/patients/{patient_id}/eligibility",
                                                 headers=JSON)).status == 200
             and answer.json().get("intake_id") == intake_id, timeout_s=30, what="the eligibility decision in orders")


def _feedback_rows(stack) -> list[dict]:
    with sqlite3.connect(stack.services_data_dir / "orders.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("select * from cds_feedback order by id")]


def _compose_wrong_dose_and_sign(page, stack, patient_id: str) -> object:
    """Chart → Order ketamine → the prefilled form with a wrong dose → compose (order-select) → sign (order-sign):
    the critical card."""
    page.goto(stack.chart_url)
    page.locator(f'a[data-order-entry="{patient_id}"]').click()
    page.wait_for_url(f"**/chart/order/{patient_id}")
    expect(page.get_by_label("Dose", exact=True)).to_have_value("0.5")
    page.get_by_label("Dose", exact=True).fill(WRONG_MG_PER_KG)
    page.get_by_role("button", name="Compose order").click()
    expect(page.get_by_test_id("cds-hook")).to_contain_text("order-select")
    page.get_by_role("button", name="Sign order").click()
    expect(page.get_by_test_id("cds-hook")).to_contain_text("order-sign")
    critical = page.locator('[data-card-indicator="critical"]')
    expect(critical).to_have_count(1)
    expect(critical).to_contain_text("outside the clinic protocol")
    return critical


def test_order_entry_critical_card_override_and_suggestion(page, smart_stack):
    patient_id = patient_of_its_own(smart_stack.ehr_client)  # no other test's order active in the EHR for it
    # the orders API is behind SMART: the page signs in through the orders app first, so page.request can read it
    launch_from_chart(page, smart_stack, "orders", patient_id, "dr.okoye")
    for series in _orders_api(page, smart_stack, f"/patients/{patient_id}/series")["series"]:
        assert series["order_status"] not in ("active", "on-hold"), "the new patient has a signed series already"
    _eligible(page, smart_stack, patient_id)
    feedback_before = len(_feedback_rows(smart_stack))

    # 1. A wrong dose: a critical card with its override reasons, suggestion and SMART link
    critical = _compose_wrong_dose_and_sign(page, smart_stack, patient_id)
    assert critical.get_by_test_id("override-reason").locator("option").count() >= 2
    expect(critical.locator('button[data-link-type="smart"][data-launch="ketalink-orders"]')).to_have_count(1)
    # The detail is CDS Hooks Markdown: its list of reasons and the `setting` names are rendered, not shown raw
    detail = critical.get_by_test_id("card-detail")
    expect(detail.locator("li").first).to_contain_text("mg/kg")
    expect(detail.locator("code").first).to_be_visible()
    assert "`" not in detail.inner_text() and not detail.inner_text().lstrip().startswith("- ")
    screenshot(page, "sandbox-order-entry-1-critical-card")
    assert_accessible(page, "sandbox-order-entry-critical-card")
    # The card's SMART link launches the registered orders app from the chart for this patient
    with page.context.expect_page() as opened:
        critical.locator('button[data-link-type="smart"]').click()
    app_page = opened.value
    app_page.wait_for_url("**/smart/authorize**")
    app_page.get_by_role("button", name="Approve").click()
    app_page.wait_for_url(f"{smart_stack.services['orders']}/")
    app_page.close()

    # Placing without an override reason is refused: nothing placed
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose an override reason")
    expect(page.get_by_test_id("order-placed")).to_have_count(0)
    assert _feedback_rows(smart_stack)[feedback_before:] == []
    screenshot(page, "sandbox-order-entry-2-override-needs-reason")

    # Overridden with a reason: the override reaches cds_feedback, then the order is placed, and the orders
    # service's own CPOE check (the safety net behind the card) rejects the out-of-range dose
    reason = critical.get_by_test_id("override-reason").locator("option").nth(1).get_attribute("value")
    critical.get_by_test_id("override-reason").select_option(reason)
    critical.get_by_label("Comment").fill("browser test override")
    page.get_by_role("button", name="Place order").click()
    placed = page.get_by_test_id("order-placed")
    expect(placed).to_be_visible()
    rows = _feedback_rows(smart_stack)[feedback_before:]
    assert [r["outcome"] for r in rows] == ["overridden"]
    override = json.loads(rows[0]["override_reason"])
    assert override["reason"]["code"] == reason and override["userComment"] == "browser test override"
    # The override is the signed-in prescriber's (the hook's context.userId), for this patient; not the EHR client's
    okoye = next(u for u in DEMO_USERS if u.username == "dr.okoye")
    practitioner = smart_stack.ehr_client.search("Practitioner", {"identifier": f"{SEED_SYSTEM}|{okoye.identifier}"})
    assert rows[0]["actor"] == f"Practitioner/{practitioner[0]['id']}" != CLIENT_ID
    assert rows[0]["iss"] == smart_stack.ehr_root and rows[0]["patient_id"] == patient_id
    page.wait_for_url("**/chart/order/entry/*")  # post/redirect/get: a reload places nothing again
    answers = wait_for(lambda: responses_to(smart_stack.bootstrap, ORDERS_EVENTS,
                                            placed.get_attribute("data-message-id")),
                       timeout_s=60, what="the orders service's answer to the overridden order")
    assert answers[0].response_code.value == "fatal-error"
    # ... and the order's page shows that refusal, with the service's reasons
    answer = _answer_shown(page, "refused")
    expect(answer).to_contain_text("Refused by Ketalink")
    reasons = [issue["details"]["text"] for issue in answers[0].first("OperationOutcome")["issue"]]
    for shown, reason in zip(answer.locator("li").all_inner_texts(), reasons, strict=True):
        assert shown.startswith(reason)
    screenshot(page, "sandbox-order-entry-3-overridden-placed")
    # The refused order is still active in the EHR until the prescriber discontinues it
    _withdraw_refused_order(page, smart_stack, patient_id)

    # 2. The same wrong dose, and the card's suggestion accepted: the draft becomes the protocol-correct order,
    # order-sign runs again with no critical card, the acceptance is recorded, and orders accepts the placed order
    critical = _compose_wrong_dose_and_sign(page, smart_stack, patient_id)
    critical.get_by_test_id("suggestion").first.click()
    expect(page.get_by_test_id("cds-hook")).to_contain_text("order-sign")
    expect(page.get_by_test_id("feedback")).to_contain_text("accepted")
    expect(page.get_by_test_id("feedback")).to_contain_text("recorded: 1")
    expect(page.locator('[data-card-indicator="critical"]')).to_have_count(0)
    expect(page.get_by_test_id("draft-dosage")).not_to_contain_text(f"{WRONG_MG_PER_KG} mg/kg")
    rows = _feedback_rows(smart_stack)[feedback_before:]
    assert [(r["outcome"], json.loads(r["accepted_suggestions"] or "[]") != []) for r in rows] == [
        ("overridden", False), ("accepted", True)]
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_test_id("order-placed")).to_be_visible()
    screenshot(page, "sandbox-order-entry-4-suggestion-placed")

    def accepted() -> dict | None:
        series = _orders_api(page, smart_stack, f"/patients/{patient_id}/series")["series"]
        active = [s for s in series if s["order_status"] == "active"]
        return active[0] if active else None
    series = wait_for(accepted, timeout_s=60, what="the placed order accepted by orders")
    expect(_answer_shown(page, "accepted")).to_contain_text(f"accepted as Ketalink order {series['order_id']}")
    screenshot(page, "sandbox-order-entry-5-accepted-answer")
    assert_accessible(page, "sandbox-order-entry-answer")
    order = _orders_api(page, smart_stack, f"/orders/{series['order_id']}")
    assert order["source"] == "ehr-cpoe" and order["status"] == "active"
    assert order["calculation"]["mg_per_kg"] != float(WRONG_MG_PER_KG)
    placed_orders = smart_stack.ehr_client.search("MedicationRequest", {"subject": f"Patient/{patient_id}"})
    assert any(i.get("system") == EHR_ORDER_SYSTEM for r in placed_orders for i in r.get("identifier", []))


def test_order_entry_is_for_prescribers_only(page, smart_stack):
    """Signing in from the order link returns to the form; a nurse gets 403 and no form."""
    patient_id = smart_stack.patient_id("KL-1001")
    page.goto(f"{smart_stack.ehr_root}/chart/order/{patient_id}")
    page.wait_for_url("**/smart/login**")
    page.get_by_label("User").select_option("nurse.ng")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    with page.expect_response(lambda r: f"/chart/order/{patient_id}" in r.url) as answered:
        page.get_by_role("button", name="Sign in").click()
    response = answered.value
    assert response.status == 403
    expect(page.get_by_role("button", name="Compose order")).to_have_count(0)


def test_an_order_entry_and_its_answer_survive_a_sandbox_restart(page, smart_stack):
    """A signed draft with its critical cards, the sandbox restarted (same data directory), the entry's page still
    shows it and it is placed from there; its answer arrives on the page, and is still there after another
    restart and a reload."""
    patient_id = smart_stack.patient_id("KL-1003")
    page.goto(f"{smart_stack.ehr_root}/chart/order/{patient_id}")
    page.get_by_label("User").select_option("dr.okoye")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/chart/order/{patient_id}")
    page.get_by_label("Dose", exact=True).fill(WRONG_MG_PER_KG)
    page.get_by_role("button", name="Compose order").click()
    page.get_by_role("button", name="Sign order").click()
    expect(page.get_by_test_id("cds-hook")).to_contain_text("order-sign")
    cards = page.get_by_test_id("cds-card").count()
    entry_url = page.url.rsplit("/sign", 1)[0]  # /chart/order/entry/<id>

    sandbox = smart_stack.processes["ehr"]
    sandbox.stop()
    sandbox.start()
    page.goto(entry_url)
    expect(page.get_by_test_id("cds-hook")).to_contain_text("order-sign")
    expect(page.get_by_test_id("cds-card")).to_have_count(cards)
    _override_every_critical_card(page)
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_test_id("order-placed")).to_be_visible()
    _answer_shown(page, "refused")

    sandbox.stop()
    sandbox.start()
    page.reload()
    expect(page.get_by_test_id("order-answer")).to_have_attribute("data-answer-status", "refused")
    expect(page.get_by_role("button", name="Place order")).to_have_count(0)
    _withdraw_refused_order(page, smart_stack, patient_id)
