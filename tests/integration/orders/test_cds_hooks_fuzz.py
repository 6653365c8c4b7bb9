"""Hook and feedback requests broken one field at a time (removed, nulled, of another type, a huge or exotic
string), sent with a good token to a real orders process: every answer is a 200, a 4xx OperationOutcome or a 412,
never a 5xx. The prefetch is complete and realistic (the patient, their weight, a current medication), so the
broken fields reach the reading of the draft and of the prefetch, not only the envelope checks."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings, strategies as st

from deploy.ehr_sandbox.ehr_events import weight
from tests.integration.orders.cds_hooks_support import SIGN, Stack, cds_stack, hook_request
from tests.integration.orders.support import cpoe_medication_request, patient_id_for
from tests.support.json_paths import changed_at, json_paths

EXAMPLES = 120
ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2 ** 70, max_value=2 ** 70), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40), st.just("x" * 70_000), st.just("\u202e\x00\ud7ff"), st.just([]), st.just({}),
    st.just([None] * 50), st.just({"resourceType": "Bundle", "entry": [{"resource": None}]}))


@pytest.fixture(scope="module")
def stack(broker, ehr, log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with cds_stack(broker, ehr, log_dir, tmp_path_factory.mktemp("cds-fuzz")) as started:
        yield started


@pytest.fixture(scope="module")
def template(ehr: Any) -> dict[str, Any]:
    patient_id = patient_id_for(ehr, "KL-1001")
    measured = weight(patient_id, 70.0) | {"id": "w1"}
    medication = {"resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
                  "subject": {"reference": f"Patient/{patient_id}"},
                  "medicationCodeableConcept": {"text": "sertraline", "coding": [
                      {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "36437"}]}}
    prefetch = {"patient": ehr.client.read("Patient", patient_id),
                "weight": {"resourceType": "Bundle", "type": "searchset",
                           "entry": [{"resource": measured, "search": {"mode": "match"}}]},
                "newerWeights": None, "height": None, "conditions": None, "eligibility": None, "ketamineOrders": None,
                "pregnancyStatus": None,
                "medications": {"resourceType": "Bundle", "type": "searchset",
                                "entry": [{"resource": medication, "search": {"mode": "match"}}]}}
    draft = cpoe_medication_request(patient_id) | {"id": "draft-1", "status": "draft"}
    return hook_request("order-sign", patient_id, [draft], prefetch=prefetch)


def _never_a_server_error(answer: requests.Response) -> None:
    assert answer.status_code < 500, answer.text[:500]
    if answer.status_code != 200:
        assert answer.json()["resourceType"] == "OperationOutcome"


def test_a_broken_hook_request_is_never_a_server_error(stack: Stack, template: dict[str, Any]) -> None:
    paths = sorted(set(json_paths(template)), key=repr)

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)
    @given(path=st.sampled_from(paths), replacement=ODD_VALUES, remove=st.booleans())
    def check(path: tuple[Any, ...], replacement: Any, remove: bool) -> None:
        body = changed_at(template, path, replacement, remove)
        _never_a_server_error(stack.call(stack.pinned.token(stack.aud()), body))

    check()


# Any JSON shape (nested objects and arrays of FHIR-ish keys), not only one odd value.
JSON_SHAPES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2 ** 40, 2 ** 40), st.text(max_size=12),
              st.sampled_from(["Bundle", "Patient", "match", "include", "next"])),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["resourceType", "entry", "resource", "search", "mode", "link", "relation", "url", "id",
                         "coding", "code"]) | st.text(max_size=6), inner, max_size=4), max_leaves=10)


def test_any_json_shape_in_the_context_or_prefetch_envelopes_is_never_a_server_error(
        stack: Stack, template: dict[str, Any]) -> None:
    """The envelopes the service reads before any FHIR validation (context, draftOrders, each prefetch key, its
    Bundle's entries, their search and links) replaced by any JSON: cards, or a 4xx OperationOutcome that names
    the field."""
    envelopes = sorted({p for p in json_paths(template) if "resource" not in p[:-1]}, key=repr)

    @settings(max_examples=EXAMPLES // 3, deadline=None, suppress_health_check=list(HealthCheck))
    @given(path=st.sampled_from(envelopes), replacement=JSON_SHAPES)
    def check(path: tuple[Any, ...], replacement: Any) -> None:
        answer = stack.call(stack.pinned.token(stack.aud()), changed_at(template, path, replacement, False))
        _never_a_server_error(answer)
        if answer.status_code != 200:
            assert answer.json()["issue"][0].get("expression"), answer.text[:500]

    check()


def test_broken_feedback_is_never_a_server_error(stack: Stack) -> None:
    aud = stack.aud(SIGN, "/feedback")
    template = {"feedback": [{"card": str(uuid.uuid4()), "outcome": "overridden",
                              "outcomeTimestamp": datetime.now(timezone.utc).isoformat(),
                              "overrideReason": {"reason": {"system": "s", "code": "c", "display": "d"},
                                                 "userComment": "c"},
                              "acceptedSuggestions": [{"id": "a"}]}]}
    paths = sorted(set(json_paths(template)), key=repr)

    @settings(max_examples=EXAMPLES // 2, deadline=None, suppress_health_check=list(HealthCheck))
    @given(path=st.sampled_from(paths), replacement=ODD_VALUES, remove=st.booleans())
    def check(path: tuple[Any, ...], replacement: Any, remove: bool) -> None:
        body = changed_at(template, path, replacement, remove)
        answer = requests.post(aud, json=body, timeout=30,
                               headers={"Authorization": f"Bearer {stack.pinned.token(aud)}"})
        _never_a_server_error(answer)

    check()
