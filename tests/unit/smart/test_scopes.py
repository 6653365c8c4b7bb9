"""SMART scopes: v2 and v1 syntax, every action letter, the v1 fallback and the patient-context bound."""
from __future__ import annotations

import pytest

from shared.smart.scopes import Decision, ScopeContext, decide, parse_scope, scopes_for_server, to_v1

ACTIONS = "cruds"


@pytest.mark.parametrize("letters", ["c", "r", "u", "d", "s", "rs", "cud", "cruds", "cs", "ud"])
def test_v2_scopes_grant_exactly_their_letters(letters):
    scope = parse_scope(f"patient/Observation.{letters}")
    assert scope is not None and scope.context is ScopeContext.PATIENT and scope.resource_type == "Observation"
    assert scope.actions == frozenset(letters) and not scope.v1
    for action in ACTIONS:
        assert scope.covers("Observation", action) is (action in letters)
        assert scope.covers("Condition", action) is False


@pytest.mark.parametrize("permission, granted", [("read", "rs"), ("write", "cud"), ("*", "cruds")])
def test_v1_scopes_map_to_v2_letters(permission, granted):
    scope = parse_scope(f"user/*.{permission}")
    assert scope is not None and scope.v1 and scope.actions == frozenset(granted)
    for action in ACTIONS:
        assert scope.covers("MedicationRequest", action) is (action in granted)


@pytest.mark.parametrize("text", ["launch", "openid", "fhirUser", "online_access", "patient/Observation.sr",
                                  "patient/Observation.rr", "patient/Observation.x", "patient/observation.rs",
                                  "clinician/*.rs", "patient/*.", "patient/Observation"])
def test_other_and_malformed_scopes_are_not_resource_scopes(text):
    assert parse_scope(text) is None


def test_a_granular_scope_does_not_cover_a_whole_type():
    scope = parse_scope("patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|"
                        "vital-signs")
    assert scope is not None and scope.query.startswith("category=")
    assert not scope.covers("Observation", "r")


@pytest.mark.parametrize("v2, v1", [("patient/*.rs", "patient/*.read"),
                                    ("patient/Observation.r", "patient/Observation.read"),
                                    ("user/*.cruds", "user/*.*"), ("user/Observation.cud", "user/Observation.write"),
                                    ("user/Observation.cu", "user/Observation.write"),
                                    ("patient/Observation.rs?category=x", "patient/Observation.read"),
                                    ("launch", "launch"), ("patient/*.read", "patient/*.read")])
def test_v1_fallback(v2, v1):
    assert to_v1(v2) == v1


def test_scopes_for_a_server_without_v2_are_converted_and_deduplicated():
    requested = "launch openid fhirUser patient/*.rs patient/*.r user/*.cruds"
    assert scopes_for_server(requested, True) == requested
    assert scopes_for_server(requested, False) == "launch openid fhirUser patient/*.read user/*.*"


@pytest.mark.parametrize("action", list(ACTIONS))
def test_a_patient_scope_allows_only_its_patient_for_every_action(action):
    granted = ["launch", "patient/*.cruds"]
    assert decide(granted, "Observation", action, context_patient="p1", record_patient="p1") is Decision.ALLOWED
    assert decide(granted, "Observation", action, context_patient="p1", record_patient="p2") is \
        Decision.OTHER_PATIENT
    assert decide(granted, "Observation", action, context_patient=None, record_patient="p1") is \
        Decision.NO_PATIENT_CONTEXT
    assert decide(granted, "Observation", action, context_patient="p1", record_patient=None) is \
        Decision.NOT_PATIENT_BOUND


@pytest.mark.parametrize("action", list(ACTIONS))
def test_a_user_scope_is_not_bound_to_the_patient_in_context(action):
    granted = ["patient/*.rs", "user/Observation.cruds"]
    assert decide(granted, "Observation", action, context_patient="p1", record_patient="p2") is Decision.ALLOWED


@pytest.mark.parametrize("action", list(ACTIONS))
def test_missing_letters_are_refused(action):
    others = "".join(a for a in ACTIONS if a != action)
    granted = [f"user/Observation.{others}", f"user/Condition.{action}"]
    assert decide(granted, "Observation", action, context_patient=None, record_patient=None) is Decision.NO_SCOPE


def test_v1_grants_are_enforced_like_their_v2_letters():
    granted = ["patient/*.read"]
    assert decide(granted, "Observation", "s", context_patient="p1", record_patient="p1") is Decision.ALLOWED
    assert decide(granted, "Observation", "c", context_patient="p1", record_patient="p1") is Decision.NO_SCOPE
    assert decide(["user/*.write"], "Observation", "d", context_patient=None, record_patient=None) is \
        Decision.ALLOWED
    assert decide(["user/*.write"], "Observation", "r", context_patient=None, record_patient=None) is \
        Decision.NO_SCOPE


def test_an_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError):
        decide(["user/*.cruds"], "Observation", "x", context_patient=None, record_patient=None)
