"""The accessibility check's own logic (tests/browser/axe.py), without a browser: which axe findings fail a test,
what the failure says, where the report goes; and axe-core pinned exactly, from its lock file."""
from __future__ import annotations

import json
from pathlib import Path

from tests.browser import axe

ROOT = Path(__file__).resolve().parents[2]


def _violation(rule: str, impact: str | None, targets: list[list[str]]) -> dict:
    return {"id": rule, "impact": impact, "help": f"{rule} help", "helpUrl": f"https://dequeuniversity.com/rules/{rule}",
            "nodes": [{"target": target} for target in targets]}


def test_only_serious_and_critical_violations_fail() -> None:
    result = {"violations": [_violation("image-alt", "critical", [["img"]]),
                             _violation("color-contrast", "serious", [["p.hint"]]),
                             _violation("region", "moderate", [["div"]]),
                             _violation("empty-table-header", "minor", [["th"]]),
                             _violation("unknown-impact", None, [["div"]])]}
    assert [v["id"] for v in axe.failing_violations(result)] == ["image-alt", "color-contrast"]
    assert axe.failing_violations({"violations": []}) == []


def test_the_summary_names_rule_impact_elements_and_help_and_shortens_long_lists() -> None:
    many = [[f"tr:nth-child({n}) > td"] for n in range(1, 12)]
    text = axe.summary([_violation("label", "critical", [["#weight"]]), _violation("color-contrast", "serious", many)],
                       "orders new/1280")
    first = text.splitlines()[0]
    assert first.startswith("axe-core: 2 serious/critical accessibility violation(s) on 'orders new/1280'")
    assert "test-artifacts/axe/orders-new-1280.json" in first
    assert "- label [critical]: label help" in text and "    at #weight" in text
    assert "help: https://dequeuniversity.com/rules/color-contrast" in text
    assert "    at tr:nth-child(8) > td" in text and "tr:nth-child(9) > td" not in text
    assert "… and 3 more element(s)" in text
    # an element inside an iframe or shadow root is a list of selectors, one per document level
    assert "    at iframe #inner" in axe.summary([_violation("label", "critical", [[["iframe", "#inner"]]])], "x")


def test_report_names_are_safe_file_names() -> None:
    assert axe.report_name("documentation-note-1280") == "documentation-note-1280"
    assert axe.report_name("../../etc/passwd") == "..-..-etc-passwd"
    assert axe.report_name("a b/c?d") == "a-b-c-d"
    assert axe.report_name("///") == "page"


def test_axe_core_is_pinned_exactly_and_locked() -> None:
    package = json.loads((ROOT / "tools" / "axe" / "package.json").read_text())
    lock = json.loads((ROOT / "tools" / "axe" / "package-lock.json").read_text())
    version = package["dependencies"]["axe-core"]
    assert version[0].isdigit() and version.count(".") == 2, "an exact version, no range"
    locked = lock["packages"]["node_modules/axe-core"]
    assert locked["version"] == version and locked["integrity"].startswith("sha512-")
    assert set(lock["packages"]) == {"", "node_modules/axe-core"}  # axe-core has no dependencies of its own
