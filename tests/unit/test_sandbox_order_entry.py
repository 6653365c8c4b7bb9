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
