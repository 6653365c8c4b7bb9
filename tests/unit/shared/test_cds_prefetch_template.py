"""One CDS Hooks prefetch template filler for the CDS service and the sandbox EHR's CDS client
(``shared/cds_prefetch_template.py``): every discovery template is filled from the hook's context, a token without
a value leaves the key unfilled, and the user's id goes under the token of its resource type (CDS Hooks 2.0)."""
from __future__ import annotations

from shared.cds_prefetch_template import fill_template, hook_tokens
from services.orders.cds_hooks.discovery import PREFETCH


def test_every_discovery_template_is_filled_from_the_patient() -> None:
    tokens = hook_tokens("p1", "Practitioner/u1")
    for key, template in PREFETCH.items():
        filled = fill_template(template, tokens)
        assert filled is not None and "{{" not in filled and "p1" in filled, key
    assert set(PREFETCH) >= {"conditions", "eligibility", "ketamineOrders"}


def test_user_tokens_follow_the_users_resource_type_and_a_missing_value_leaves_the_key_out() -> None:
    assert hook_tokens("p1", "Practitioner/u1")["userPractitionerId"] == "u1"
    role = hook_tokens("p1", "PractitionerRole/r1", encounter_id="e1")
    assert role["userPractitionerRoleId"] == "r1" and "userPractitionerId" not in role
    assert fill_template("Encounter/{{context.encounterId}}", role) == "Encounter/e1"
    assert fill_template("Encounter/{{context.encounterId}}", hook_tokens("p1", "Practitioner/u1")) is None
    assert fill_template("Practitioner/{{userPractitionerId}}", role) is None
    assert fill_template("Patient/{{ context.patientId }}", role) == "Patient/p1"
