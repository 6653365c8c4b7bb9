"""axe-core in the browser tests: ``assert_accessible(page, name)`` runs the pinned axe-core (tools/axe, installed
by ``make axe-tools`` / ``make test``) on whatever a Playwright page shows now, against the WCAG 2.0/2.1 level A
and AA rules, and fails on every serious or critical violation.

Minor and moderate findings do not fail a test (they are often judgement calls), but they are kept with the rest of
axe's answer in test-artifacts/axe/<name>.json, so a reviewer reads every finding, not only the failing ones."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
AXE_SCRIPT = ROOT / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
REPORTS = ROOT / "test-artifacts" / "axe"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
# Run too, and kept in the report, but failing only at serious/critical like the rest: landmarks, heading order,
# one main heading, positive tabindex, labels given only by title.
BEST_PRACTICE = "best-practice"
FAILING_IMPACTS = frozenset({"serious", "critical"})
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def axe_source() -> str:
    """The axe-core script as the Makefile installed it from the lock file; a clear failure when it is missing."""
    if not AXE_SCRIPT.exists():
        pytest.fail(f"axe-core is not installed ({AXE_SCRIPT.relative_to(ROOT)} is missing): run `make axe-tools` "
                    "(npm ci from tools/axe/package-lock.json; `make test` does it)", pytrace=False)
    return AXE_SCRIPT.read_text(encoding="utf-8")


def run_axe(page: Any) -> dict[str, Any]:
    """axe's full result for the page's current document (injected each call: a navigation drops the script)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol, not as a <script> tag: the pages' CSP (script-src 'self')
        # refuses inline scripts, and the check must run on the pages exactly as they are served.
        page.evaluate(f"() => {{ {axe_source()}\n}}")
    return page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return JSON.parse(JSON.stringify(result));
        }""",
        [*WCAG_TAGS, BEST_PRACTICE],
    )


def failing_violations(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The violations that fail a test: impact serious or critical."""
    return [violation for violation in result.get("violations", []) if violation.get("impact") in FAILING_IMPACTS]


def summary(violations: list[dict[str, Any]], name: str) -> str:
    """One readable block per violated rule: id, impact, what it means, where (CSS selectors) and the help URL."""
    lines = [f"axe-core: {len(violations)} serious/critical accessibility violation(s) on {name!r} "
             f"(full result: test-artifacts/axe/{report_name(name)}.json)"]
    for violation in violations:
        lines.append(f"- {violation['id']} [{violation['impact']}]: {violation['help']}")
        for node in violation.get("nodes", [])[:8]:
            target = " ".join(" ".join(part) if isinstance(part, list) else str(part) for part in node["target"])
            lines.append(f"    at {target}")
        if len(violation.get("nodes", [])) > 8:
            lines.append(f"    … and {len(violation['nodes']) - 8} more element(s)")
        lines.append(f"    help: {violation['helpUrl']}")
    return "\n".join(lines)


def report_name(name: str) -> str:
    return _SAFE_NAME.sub("-", name).strip("-") or "page"


def write_report(result: dict[str, Any], name: str) -> Path:
    REPORTS.mkdir(parents=True, exist_ok=True)
    path = REPORTS / f"{report_name(name)}.json"
    path.write_text(json.dumps(result, indent=1, sort_keys=True), encoding="utf-8")
    return path


def assert_accessible(page: Any, name: str) -> dict[str, Any]:
    """Runs axe on the page as it is now, writes the full result to test-artifacts/axe/<name>.json and fails the
    test on any serious or critical violation; returns axe's result for further checks."""
    result = run_axe(page)
    write_report(result, name)
    failing = failing_violations(result)
    if failing:
        pytest.fail(summary(failing, name), pytrace=False)
    return result
