"""The three services' OpenAPI documents, as each app serves them: valid OpenAPI 3.1 (schemathesis' own meta-schema
check), every operation with a success schema that says something (a named schema with required properties, not
``{"type": "object"}``), the 401 and 403 answers as OperationOutcomes, the SMART security schemes with the scopes
the operation checks, and links from the answers that give ids to the operations that take them. Whether the
services' real answers fit these schemas is what tests/fuzz/test_openapi.py checks on every answer."""
from __future__ import annotations

import copy
import importlib
from typing import Any

import pytest
import schemathesis

from shared.openapi import BEARER, COOKIE, SMART

SERVICES = ("intake", "orders", "documentation")
Document = dict[str, Any]


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Document, Any]]:
    from shared.events.kafka_clients import KafkaSettings
    from shared.runtime import ServiceRuntime, ServiceSettings

    built = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("SMART_AUTH_REQUIRED", "true")
        for name in SERVICES:
            database = tmp_path_factory.mktemp(name) / f"{name}.db"
            runtime = ServiceRuntime(name, ServiceSettings(database_url=f"sqlite:///{database}"), KafkaSettings())
            app = importlib.import_module(f"services.{name}.bootstrap").build(runtime)[0]
            built[name] = (app.test_client().get("/openapi.json").json, app.extensions["smart"])
    return built


def operations(document: Document) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, operation) for path, item in document["paths"].items()
            for method, operation in item.items()]


def _schema(document: Document, schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def problems(document: Document) -> list[str]:
    """What an operation of ``document`` leaves undeclared."""
    found = []
    outcome = {"$ref": "#/components/schemas/OperationOutcome"}
    for path, method, operation in operations(document):
        if "cds-hooks" in operation.get("tags", ()):  # the EHR's JWT, not SMART: tests/unit/orders/test_cds_openapi.py
            continue
        where = f"{method.upper()} {path}"
        if not operation.get("operationId"):
            found.append(f"{where}: no operationId")
        successes = {status: answer for status, answer in operation["responses"].items() if status.startswith("2")}
        for status, answer in successes.items():
            for media_type, content in answer.get("content", {}).items():
                schema = _schema(document, content["schema"])
                if "json" in media_type and not (schema.get("properties") and schema.get("required")):
                    found.append(f"{where} {status}: {media_type} answer has no properties it promises")
                if "json" not in media_type and not ("$ref" in content["schema"] and schema.get("description")):
                    found.append(f"{where} {status}: {media_type} answer is not a named, described schema")
        if not successes:
            found.append(f"{where}: no success answer")
        for status in ("401", "403"):
            declared = operation["responses"].get(status, {}).get("content", {}).get("application/fhir+json", {})
            if declared.get("schema") != outcome:
                found.append(f"{where}: no {status} OperationOutcome")
        schemes = {name for requirement in operation.get("security", []) for name in requirement}
        if schemes != {BEARER, SMART, COOKIE}:
            found.append(f"{where}: security {sorted(schemes)}")
    return found


@pytest.mark.parametrize("name", SERVICES)
def test_the_document_is_valid_openapi_3_1(name, documents):
    document, _smart = documents[name]
    assert document["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(document).validate()


@pytest.mark.parametrize("name", SERVICES)
def test_every_operation_declares_its_answer_auth_refusals_and_security(name, documents):
    document, _smart = documents[name]
    assert len(operations(document)) >= 14
    assert problems(document) == []


def test_the_check_finds_what_an_operation_leaves_out(documents):
    """The check can fail: an answer documented as any object, a missing 403 and a missing scheme are each found."""
    document = copy.deepcopy(documents["intake"][0])
    operation = document["paths"]["/intakes/{intake_id}"]["get"]
    operation["responses"]["200"]["content"]["application/json"]["schema"] = {"type": "object"}
    del operation["responses"]["403"]
    operation["security"] = [{BEARER: []}]
    assert problems(document) == [
        "GET /intakes/{intake_id} 200: application/json answer has no properties it promises",
        "GET /intakes/{intake_id}: no 403 OperationOutcome",
        f"GET /intakes/{{intake_id}}: security ['{BEARER}']"]


@pytest.mark.parametrize("name", SERVICES)
def test_the_security_schemes_name_this_deployments_cookie_and_ehr(name, documents):
    document, smart = documents[name]
    schemes = document["components"]["securitySchemes"]
    assert schemes[COOKIE] == {**schemes[COOKIE], "type": "apiKey", "in": "cookie", "name": smart.cookie_name}
    assert schemes[SMART]["openIdConnectUrl"] == f"{smart.allowed_issuers[0]}/.well-known/smart-configuration"
    assert schemes[BEARER]["scheme"] == "bearer"


def test_an_operation_lists_the_smart_scopes_it_checks(documents):
    document, _smart = documents["orders"]
    sign = document["paths"]["/orders/{order_id}/sign"]["post"]
    scopes = next(requirement[SMART] for requirement in sign["security"] if SMART in requirement)
    assert scopes == ["patient/CarePlan.u", "patient/MedicationRequest.u"]


@pytest.mark.parametrize("name, path, method, status, link, parameters", [
    ("intake", "/intakes", "post", "201", "get_intake", {"intake_id": "$response.body#/intake_id"}),
    ("intake", "/intakes", "post", "201", "post_decision", {"intake_id": "$response.body#/intake_id"}),
    ("orders", "/orders", "post", "201", "get_order", {"order_id": "$response.body#/order_id"}),
    ("orders", "/orders", "post", "201", "sign_order", {"order_id": "$response.body#/order_id"}),
    ("orders", "/patients/{patient_id}/course", "get", "200", "record_score",
     {"course_id": "$response.body#/course_id"}),
    ("documentation", "/patients/{patient_id}/sessions", "get", "200", "read_session",
     {"session_id": "$response.body#/sessions/0/session_id"}),
    ("documentation", "/sessions/{session_id}", "get", "200", "record_vitals",
     {"session_id": "$response.body#/session_id"}),
    ("documentation", "/sessions/{session_id}/notes", "post", "201", "sign_note",
     {"note_id": "$response.body#/note_id"}),
])
def test_answers_link_to_the_operations_their_ids_open(documents, name, path, method, status, link, parameters):
    document, _smart = documents[name]
    links = document["paths"][path][method]["responses"][status]["links"]
    assert links[link] == {"operationId": link, "parameters": parameters}
    operation_ids = {operation["operationId"] for _path, _method, operation in operations(document)}
    assert {target["operationId"] for target in links.values()} <= operation_ids
