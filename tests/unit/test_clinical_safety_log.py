"""The hazard log (docs/clinical-safety.md) is part of the product: a hazard whose "Verified by" names a test that
does not exist, or a hazard missing one of the fields a clinical risk file needs, fails the suite. Otherwise the log
would silently claim mitigations that nothing proves."""
from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "docs" / "clinical-safety.md"
FIELDS = ("Source", "Cause", "Effect", "Initial risk", "Mitigation", "Verified by", "Residual risk")
HEADING = re.compile(r"^### (HZ-\d{2,3}[a-z]?): (.+)$", re.MULTILINE)
TEST_ID = re.compile(r"`(tests/[\w/]+\.py)::([\w:\[\]-]+)`")
SOURCE_PATH = re.compile(r"`((?:services|shared|deploy)/[\w/.-]+\.(?:py|html|md))`")
SEVERITIES = ("minor", "significant", "considerable", "major", "catastrophic")
LIKELIHOODS = ("very low", "low", "medium", "high", "very high")
# The risk matrix of the log's header: RISK[likelihood][severity index].
RISK = {"very high": (3, 4, 4, 5, 5), "high": (2, 3, 3, 4, 5), "medium": (2, 2, 3, 3, 4), "low": (1, 2, 2, 3, 4),
        "very low": (1, 1, 2, 2, 3)}
RATING = re.compile(r"^(\w+) × (very low|very high|low|medium|high) → (\d)")
# Issue 13 names these defects and features; each must have a hazard whose Source names it.
DEFECTS = range(1, 25)
FEATURES = ("controlled-substance record", "discharge instructions", "rescue actions", "site readiness",
            "urgent-use pathway")


def hazards(text: str) -> dict[str, str]:
    """Hazard id → its section's text (up to the next heading)."""
    matches = list(HEADING.finditer(text))
    sections = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        sections[match.group(1)] = text[match.start():end]
    return sections


def field(section: str, name: str) -> str:
    found = re.search(rf"^- \*\*{re.escape(name)}:\*\*(.*(?:\n(?!- \*\*).*)*)", section, re.MULTILINE)
    return found.group(1).strip() if found else ""


@cache
def module_tests(path: Path) -> frozenset[str]:
    """``name`` and ``Class::name`` for every test function of a module (parsed, not imported)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.update(f"{node.name}::{item.name}" for item in node.body
                         if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("test"))
    return frozenset(names)


def missing_tests(section: str) -> list[str]:
    missing = []
    for module, name in TEST_ID.findall(field(section, "Verified by")):
        path = ROOT / module
        base = name.split("[", 1)[0]
        if not path.is_file() or base not in module_tests(path):
            missing.append(f"{module}::{name}")
    return missing


@pytest.fixture(scope="module")
def log_hazards() -> dict[str, str]:
    assert LOG.is_file(), "docs/clinical-safety.md is missing"
    found = hazards(LOG.read_text(encoding="utf-8"))
    assert found, "docs/clinical-safety.md holds no hazard (### HZ-nn: title)"
    return found


def test_every_hazard_has_every_field(log_hazards: dict[str, str]) -> None:
    incomplete = {hz: [name for name in FIELDS if not field(text, name)] for hz, text in log_hazards.items()}
    assert not {hz: names for hz, names in incomplete.items() if names}


def test_every_hazard_is_verified_by_a_test_that_exists(log_hazards: dict[str, str]) -> None:
    unproved = [hz for hz, text in log_hazards.items() if not TEST_ID.search(field(text, "Verified by"))]
    assert not unproved, f"hazards without a test id: {unproved}"
    missing = {hz: names for hz, text in log_hazards.items() if (names := missing_tests(text))}
    assert not missing, f"tests named in the hazard log that do not exist: {missing}"


def test_every_mitigation_names_a_file_that_exists(log_hazards: dict[str, str]) -> None:
    missing = {hz: [p for p in SOURCE_PATH.findall(field(text, "Mitigation")) if not (ROOT / p).exists()]
               for hz, text in log_hazards.items()}
    assert not {hz: paths for hz, paths in missing.items() if paths}
    unnamed = [hz for hz, text in log_hazards.items() if not SOURCE_PATH.search(field(text, "Mitigation"))]
    assert not unnamed, f"mitigations that name no file: {unnamed}"


def test_every_issue_13_defect_and_feature_has_a_hazard(log_hazards: dict[str, str]) -> None:
    sources = " ".join(field(text, "Source").lower() for text in log_hazards.values())
    defects = {int(n) for n in re.findall(r"defect (\d+)", sources)}
    assert set(DEFECTS) - defects == set(), f"defects with no hazard: {sorted(set(DEFECTS) - defects)}"
    assert [f for f in FEATURES if f not in sources] == []


def rating_error(text: str) -> str | None:
    """Why a "severity × likelihood → risk" rating is wrong, or None when it follows the matrix."""
    match = RATING.match(text)
    if not match:
        return f"not 'severity × likelihood → risk': {text[:60]!r}"
    severity, likelihood, risk = match.groups()
    if severity not in SEVERITIES:
        return f"unknown severity {severity!r}"
    expected = RISK[likelihood][SEVERITIES.index(severity)]
    return None if int(risk) == expected else f"{severity} × {likelihood} is {expected} in the matrix, not {risk}"


def test_every_rating_follows_the_matrix(log_hazards: dict[str, str]) -> None:
    errors = {f"{hz} {name}": error for hz, text in log_hazards.items() for name in ("Initial risk", "Residual risk")
              if (error := rating_error(field(text, name)))}
    assert not errors


def test_the_matrix_in_the_log_is_the_one_the_checker_uses() -> None:
    rows = {m.group(1): tuple(int(n) for n in m.group(2).split(" | "))
            for m in re.finditer(r"^\| (very high|high|medium|low|very low) \| ([\d |]+?) \|$",
                                 LOG.read_text(encoding="utf-8"), re.MULTILINE)}
    assert rows == RISK


def test_a_rating_off_the_matrix_is_reported() -> None:
    assert rating_error("catastrophic × medium → 4") is None
    assert rating_error("catastrophic × medium → 5") == "catastrophic × medium is 4 in the matrix, not 5"
    assert rating_error("bad").startswith("not ")


def test_checker_finds_a_missing_test() -> None:
    """The checker itself can fail: a hazard naming a test that does not exist is reported."""
    section = ("### HZ-99: example\n- **Verified by:** `tests/unit/test_clinical_safety_log.py::test_no_such_test`\n")
    assert missing_tests(section) == ["tests/unit/test_clinical_safety_log.py::test_no_such_test"]
    present = ("### HZ-98: example\n- **Verified by:** "
               "`tests/unit/test_clinical_safety_log.py::test_checker_finds_a_missing_test`\n")
    assert missing_tests(present) == []
