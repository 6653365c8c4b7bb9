"""The CDS Hooks endpoints in the orders service's OpenAPI document: each CDS service's hook with its own request
shape, feedback and the CORS preflight, secured by the EHR's JWT (not SMART), every refusal an OperationOutcome;
and the answers the cards module builds fit the documented card schema (the fuzz test checks the running service's
answers against the same document)."""
from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
import schemathesis

from services.orders.cds_hooks.discovery import HOOK_OF_SERVICE, discovery_document
from services.orders.cds_hooks.openapi import CDS_JWT, SCHEMAS, add_to_document, paths

OUTCOME = {"$ref": "#/components/schemas/OperationOutcome"}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from services.orders.bootstrap import build
    from shared.events.kafka_clients import KafkaSettings
    from shared.runtime import ServiceRuntime, ServiceSettings

    database = tmp_path_factory.mktemp("orders") / "orders.db"
    runtime = ServiceRuntime("orders", ServiceSettings(database_url=f"sqlite:///{database}"), KafkaSettings())
    document: dict[str, Any] = build(runtime)[0].test_client().get("/openapi.json").json
    return document


def test_the_served_document_holds_every_cds_endpoint_and_stays_valid_openapi(document):
    expected = {"/cds-services"} | {f"/cds-services/{s}" for s in HOOK_OF_SERVICE} | {
        f"/cds-services/{s}/feedback" for s in HOOK_OF_SERVICE}
    assert expected <= document["paths"].keys()
    assert document["paths"]["/orders/{order_id}/sign"]  # the service's own operations are still there
    schemathesis.openapi.from_dict(document).validate()


def test_hook_and_feedback_need_the_ehr_jwt_and_refuse_with_an_operation_outcome(document):
    assert document["components"]["securitySchemes"][CDS_JWT]["scheme"] == "bearer"
    for service_id, hook in HOOK_OF_SERVICE.items():
        for path in (f"/cds-services/{service_id}", f"/cds-services/{service_id}/feedback"):
            post = document["paths"][path]["post"]
            assert post["security"] == [{CDS_JWT: []}], path
            for status in ("400", "401"):
                assert post["responses"][status]["content"]["application/fhir+json"]["schema"] == OUTCOME
            assert document["paths"][path]["options"]["security"] == []
        body = document["paths"][f"/cds-services/{service_id}"]["post"]["requestBody"]["content"]
        assert body["application/json"]["schema"]["properties"]["hook"] == {"const": hook}
    assert document["paths"]["/cds-services"]["get"]["security"] == []


def _validator(name: str) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator({**SCHEMAS[name], "components": {"schemas": SCHEMAS}},
                                              validate_formats=True)


def test_discovery_fits_its_schema_and_a_wrong_card_does_not():
    _validator("CdsDiscovery").validate(discovery_document())
    card = {"uuid": "5f0a7b9c-1d2e-4f3a-8b4c-5d6e7f8a9b0c", "summary": "Dose outside the protocol",
            "indicator": "critical", "source": {"label": "Ketalink"}}
    _validator("CdsResponse").validate({"cards": [card]})
    with pytest.raises(jsonschema_rs.ValidationError):
        _validator("CdsResponse").validate({"cards": [{**card, "indicator": "hard-stop"}]})
    with pytest.raises(jsonschema_rs.ValidationError):
        _validator("CdsResponse").validate({"cards": [{**card, "summary": "x" * 140}]})


def test_the_paths_can_be_added_to_any_built_document_without_sharing_state():
    one: dict[str, Any] = {"paths": {}}
    add_to_document(one)
    one["paths"]["/cds-services"]["get"]["summary"] = "changed"
    assert paths()["/cds-services"]["get"]["summary"] != "changed"
