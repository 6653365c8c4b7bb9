"""Untrusted JSON is bounded before parsing (issue 16 item 7): too deep a body is a 400, too large a body a 413,
too deep a Kafka record a permanent error (dead-lettered at once), each with no 500 and nothing parsed."""
from __future__ import annotations

import json

import pytest
from flask import Flask

from shared.config import SettingsError, load_settings
from shared.events.consumer import PermanentError, decode
from shared.json_bounds import JsonBounds, nesting_depth, too_deep
from shared.web import install, json_object


@pytest.mark.parametrize(("text", "depth"), [
    ("1", 0), ("{}", 1), ('{"a": [1, {"b": []}]}', 4), ('{"a": "[[[[{{{{"}', 1), ('["\\"[["]', 1),
    ("[" * 10_000 + "]" * 10_000, 10_000),
])
def test_nesting_depth_counts_brackets_outside_strings(text: str, depth: int) -> None:
    assert nesting_depth(text) == depth and nesting_depth(text.encode()) == depth


def test_the_count_stops_past_the_bound() -> None:
    assert nesting_depth("[" * 100_000, stop_above=64) == 65
    assert too_deep("[" * 65 + "]" * 65) and not too_deep("[" * 64 + "]" * 64)


def _app(monkeypatch: pytest.MonkeyPatch, **env: str) -> Flask:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = Flask("bounded")
    install(app, {})

    @app.post("/echo")
    def echo() -> dict:
        return {"keys": sorted(json_object())}

    return app


def test_a_deeply_nested_body_is_a_400_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    client = _app(monkeypatch).test_client()
    deep = '{"a": ' + "[" * 10_000 + "]" * 10_000 + "}"
    answer = client.post("/echo", data=deep, content_type="application/json")
    assert answer.status_code == 400 and answer.json["resourceType"] == "OperationOutcome"
    assert "nested deeper than 64" in answer.json["issue"][0]["diagnostics"]
    assert client.post("/echo", json={"a": [[1]]}).json == {"keys": ["a"]}


def test_a_body_over_the_cap_is_a_413_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    client = _app(monkeypatch, KETALINK_MAX_BODY_BYTES="2048").test_client()
    answer = client.post("/echo", data=json.dumps({"text": "x" * 4096}), content_type="application/json")
    assert answer.status_code == 413 and answer.json["issue"][0]["code"] == "too-costly"
    assert client.post("/echo", json={"text": "x" * 1000}).status_code == 200


def test_the_bounds_are_settings_checked_at_start() -> None:
    assert load_settings(JsonBounds, "KETALINK_", {}) == JsonBounds(1_048_576, 64)
    for variable, value in (("KETALINK_MAX_BODY_BYTES", "10"), ("KETALINK_MAX_JSON_DEPTH", "2")):
        with pytest.raises(SettingsError):
            load_settings(JsonBounds, "KETALINK_", {variable: value})


def test_a_deeply_nested_record_is_a_permanent_error_at_once() -> None:
    with pytest.raises(PermanentError, match="nested deeper"):
        decode(("[" * 10_000 + "]" * 10_000).encode())


# --- what the stores and FHIR can carry (issue 16 item 8) -----------------------------------------------------------
def test_a_nul_character_in_the_url_is_a_400(monkeypatch: pytest.MonkeyPatch) -> None:
    client = _app(monkeypatch).test_client()
    for url in ("/sessions/abc%00def", "/echo?x=a%00b"):
        answer = client.get(url)
        assert answer.status_code == 400 and "NUL" in answer.json["issue"][0]["diagnostics"]
