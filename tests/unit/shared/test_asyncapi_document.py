"""The AsyncAPI document (docs/asyncapi.yaml) is what ``shared/events/asyncapi.py`` generates from the topics and the
event catalogue, says what the bus really does, and is valid for the official AsyncAPI parser (tools/asyncapi)."""
from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shared.events import asyncapi, catalogue, event_codes, outbox, topics
from shared.events.kafka_clients import KafkaSettings
from shared.fhir.messaging import ResponseCode

ROOT = Path(__file__).resolve().parents[3]
TOOLS = ROOT / "tools" / "asyncapi"


def test_the_committed_document_is_the_generated_one() -> None:
    committed = asyncapi.DOCUMENT_PATH.read_text() if asyncapi.DOCUMENT_PATH.exists() else ""
    assert committed == asyncapi.render(), "docs/asyncapi.yaml is stale: run `make contract` and commit it"


def test_every_topic_is_a_channel_and_every_access_an_operation() -> None:
    document = asyncapi.document()
    assert sorted(channel["address"] for channel in document["channels"].values()) == topics.all_topics()
    expected = {(process, "receive", topic) for process, access in topics.ACCESS.items() for topic in access.reads}
    expected |= {(process, "send", topic) for process, access in topics.ACCESS.items()
                 for topic in (*access.writes, *access.dead_letter_writes)}
    found = {(name.split(".", 1)[0], operation["action"], operation["channel"]["$ref"].removeprefix("#/channels/"))
             for name, operation in document["operations"].items()}
    assert found == expected


def test_every_code_sent_on_a_topic_is_a_message_of_its_channel_with_the_catalogues_focus() -> None:
    document = asyncapi.document()
    messages = document["components"]["messages"]
    for topic, codes in event_codes.CODES_BY_TOPIC.items():
        if topic == topics.EHR_RESPONSES:
            continue
        channel = document["channels"][topic]
        assert list(channel["messages"]) == list(codes), topic
        for code in codes:
            message = messages[channel["messages"][code]["$ref"].removeprefix("#/components/messages/")]
            header = message["payload"]["properties"]["entry"]["items"][0]["properties"]["resource"]
            assert header["properties"]["eventCoding"]["properties"]["code"] == {"type": "string", "const": code}
            assert message["headers"]["properties"]["event-code"]["const"] == code
            spec = catalogue.CATALOGUE[(topic, code)]
            if spec.is_response:
                assert message["x-fhir-response-details"]["resourceType"] == "OperationOutcome"
            else:
                assert [part["resourceType"] for part in message["x-fhir-focus"]] == [
                    part.resource_type for part in spec.focus]


def test_the_ehrs_answers_carry_the_code_answered_and_one_of_the_three_response_codes() -> None:
    document = asyncapi.document()
    [ref] = document["channels"][topics.EHR_RESPONSES]["messages"].values()
    message = document["components"]["messages"][ref["$ref"].removeprefix("#/components/messages/")]
    header = message["payload"]["properties"]["entry"]["items"][0]["properties"]["resource"]
    assert header["properties"]["response"]["properties"]["code"]["enum"] == [code.value for code in ResponseCode]
    answered = set(header["properties"]["eventCoding"]["properties"]["code"]["enum"])
    ketalink_codes = {code for topic in (topics.INTAKE_EVENTS, topics.ORDERS_EVENTS, topics.DOCUMENTATION_EVENTS)
                      for code in event_codes.CODES_BY_TOPIC[topic]}
    assert answered == (ketalink_codes | {event_codes.LEGACY_RELAPSE}) - {event_codes.CPOE_ORDER_RESPONSE}


def _header_names(module: Path, function: str) -> list[str]:
    """The header names a function of ``module`` puts in its ``(name, value)`` header tuples."""
    tree = ast.parse(module.read_text())
    [node] = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function]
    return [t.elts[0].value for t in ast.walk(node) if isinstance(t, ast.Tuple) and len(t.elts) == 2
            and isinstance(t.elts[0], ast.Constant) and isinstance(t.elts[0].value, str)]


def test_the_headers_are_those_the_outbox_relay_and_the_consumer_set() -> None:
    events = ROOT / "shared" / "events"
    assert _header_names(events / "outbox.py", "_send") == list(asyncapi.MESSAGE_HEADERS)
    assert _header_names(events / "consumer.py", "_dead_letter") == list(asyncapi.DEAD_LETTER_HEADERS)
    assert asyncapi.CONTENT_TYPE.encode() == outbox.CONTENT_TYPE
    assert asyncapi.LOCAL_BOOTSTRAP == KafkaSettings().bootstrap_servers


def test_the_header_scan_finds_header_tuples(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('def _send(row):\n    return [("a-b", row), ("c", b"x")], ("not", "a", "pair")\n')
    assert _header_names(module, "_send") == ["a-b", "c"]


@pytest.fixture(scope="module")
def parser_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The official parser run on the committed document and on a broken copy of it, in one Node process (starting
    one takes ~2 s). ``make asyncapi-tools`` installs the parser; a plain pytest run installs it the same way."""
    node = shutil.which("node")
    assert node, "Node.js is needed to validate docs/asyncapi.yaml with @asyncapi/parser"
    if not (TOOLS / "node_modules" / "@asyncapi" / "parser").is_dir():
        subprocess.run(["make", "-s", "asyncapi-tools"], cwd=ROOT, check=True, timeout=600)
    broken = asyncapi.document()
    broken["operations"]["intake.receive.ehr.events"]["action"] = "publish"  # AsyncAPI 2's word: not in 3
    broken_path = tmp_path_factory.mktemp("asyncapi") / "broken.yaml"
    broken_path.write_text(yaml.safe_dump(broken, sort_keys=False))
    result = subprocess.run([node, str(TOOLS / "validate.mjs"), str(asyncapi.DOCUMENT_PATH), str(broken_path)],
                            capture_output=True, text=True, timeout=120)
    return broken_path, result


def _lines_about(path: Path, text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(f"{path}:")]


def test_the_official_parser_accepts_the_committed_document(parser_output) -> None:
    _, result = parser_output
    assert _lines_about(asyncapi.DOCUMENT_PATH, result.stdout) == [
        f"{asyncapi.DOCUMENT_PATH}: valid AsyncAPI 3.1.0, 10 channels, 29 operations, 27 messages"], result.stderr
    problems = [line for line in _lines_about(asyncapi.DOCUMENT_PATH, result.stderr)
                if " error " in line or " warning " in line]
    assert problems == []


def test_the_official_parser_refuses_a_broken_document_and_says_where(parser_output) -> None:
    broken_path, result = parser_output
    assert result.returncode == 1
    about_broken = _lines_about(broken_path, result.stderr)
    assert any(" error " in line and line.endswith("at /operations/intake.receive.ehr.events/action")
               for line in about_broken), result.stderr
    assert about_broken[-1].startswith(f"{broken_path}: not a valid AsyncAPI document")
    assert _lines_about(broken_path, result.stdout) == []
