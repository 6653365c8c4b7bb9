"""Event codes live in one place (shared/events/event_codes.py, issue 14 item 3): no service spells one out, and
every code belongs to one topic."""
from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from shared.events import event_codes, topics

ROOT = Path(__file__).resolve().parents[3]

# Strings equal to an event code that mean something else in that module (domain values kept in stored records and
# the API, a FHIR status, a page's notice key): (path, string) → what it is. The domain must not depend on the wire.
NOT_EVENT_CODES = {
    ("services/orders/course/domain/model.py", "reevaluation-due"): "CourseStatus and TransitionKind values",
    ("services/orders/course/domain/model.py", "loss-of-response"): "StopReason value",
    ("services/orders/course/domain/model.py", "relapse"): "StopReason value",
    ("services/orders/course/domain/summary.py", "suicidality-alert"): "DueKind value (the prescriber's list)",
    ("services/documentation/repository/__init__.py", "suicidality-alert"): "stored record kind",
    ("services/documentation/ui/pages.py", "note-signed"): "the page's notice key after signing",
    ("services/documentation/ui/note.py", "note-signed"): "the page's notice key after signing",
}


def _literal_event_codes(path: Path, codes: frozenset[str]) -> list[tuple[int, str]]:
    """(line, code) of every string constant in ``path`` equal to an event code (an f-string's parts included)."""
    tree = ast.parse(path.read_text(), str(path))
    found = [(node.lineno, node.value) for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in codes]
    return sorted(found)


def test_no_service_module_spells_out_an_event_code() -> None:
    codes = event_codes.all_codes()
    offenders = []
    for path in sorted((ROOT / "services").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        for line, code in _literal_event_codes(path, codes):
            if (relative, code) not in NOT_EVENT_CODES:
                offenders.append(f"{relative}:{line}: {code!r} (import it from shared/events/event_codes.py)")
    assert offenders == []


def test_the_scan_finds_a_literal_event_code(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('"""doc"""\nX = "order-signed"\n\ndef f():\n    return {"session-completed": 1}\n')
    found = _literal_event_codes(module, event_codes.all_codes())
    assert found == [(2, "order-signed"), (5, "session-completed")]


def test_the_exceptions_still_exist() -> None:
    """An exception whose literal went away is removed from the list, so the list never hides a new code."""
    codes = event_codes.all_codes()
    for relative, code in NOT_EVENT_CODES:
        assert any(c == code for _, c in _literal_event_codes(ROOT / relative, codes)), (relative, code)


def test_every_topic_has_its_group_and_codes_are_unique_within_it() -> None:
    assert set(event_codes.CODES_BY_TOPIC) == {topics.EHR_EVENTS, topics.EHR_RESPONSES, topics.INTAKE_EVENTS,
                                               topics.ORDERS_EVENTS, topics.DOCUMENTATION_EVENTS}
    assert set(event_codes.LEGACY_CODES_BY_TOPIC) <= set(event_codes.CODES_BY_TOPIC)
    for topic, group in event_codes.CODES_BY_TOPIC.items():
        legacy = event_codes.LEGACY_CODES_BY_TOPIC.get(topic, ())
        duplicates = [code for code, n in Counter((*group, *legacy)).items() if n > 1]
        assert duplicates == [], topic


def test_every_code_belongs_to_exactly_one_topic_but_vitals_recorded() -> None:
    topics_of: dict[str, list[str]] = {}
    for groups in (event_codes.CODES_BY_TOPIC, event_codes.LEGACY_CODES_BY_TOPIC):
        for topic, group in groups.items():
            for code in group:
                topics_of.setdefault(code, []).append(topic)
    shared = {code for code, where in topics_of.items() if len(where) > 1}
    assert shared == event_codes.SHARED_BY_TOPICS
    assert topics_of[event_codes.VITALS_RECORDED] == [topics.EHR_EVENTS, topics.DOCUMENTATION_EVENTS]


def test_every_constant_of_the_module_is_in_a_topic_group() -> None:
    constants = {name: value for name, value in vars(event_codes).items()
                 if name.isupper() and isinstance(value, str)}
    assert set(constants.values()) == event_codes.all_codes()
    assert len(constants) == len(event_codes.all_codes()) + len(event_codes.SHARED_BY_TOPICS)
