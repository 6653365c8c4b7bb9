"""The alert rules and the Grafana dashboard (deploy/monitoring/): the rules pass Prometheus's own `promtool check
rules` and their unit tests (`promtool test rules`), every alert has a test and a runbook section that exists, and
every metric the rules and the dashboard query is one the code exports. promtool is built from the Go module proxy
on first use (deploy/monitoring/tools.py); a promtool that cannot be built fails these tests, it never skips them."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from deploy.monitoring import tools
from deploy.render import layout
from deploy.render.tools import ToolError

MONITORING = layout.ROOT / "deploy" / "monitoring"
RULES = MONITORING / "prometheus-rules.yaml"
RULES_TEST = MONITORING / "tests" / "rules-test.yaml"
DASHBOARD = MONITORING / "grafana-dashboard.json"
OPERATIONS = layout.ROOT / "docs" / "operations.md"
METRIC = re.compile(r"\bketalink_[a-z0-9_]+\b")


@pytest.fixture(scope="module")
def promtool() -> Path:
    try:
        return tools.promtool()
    except ToolError as error:
        pytest.fail(f"promtool unavailable: {error}", pytrace=False)


def run_promtool(promtool: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(promtool), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def alerts() -> list[dict]:
    spec = yaml.safe_load(RULES.read_text())["spec"]
    return [rule for group in spec["groups"] for rule in group["rules"] if "alert" in rule]


def dashboard_panels() -> list[dict]:
    return [panel for panel in json.loads(DASHBOARD.read_text())["panels"] if panel["type"] != "row"]


def dashboard_exprs() -> list[str]:
    return [target["expr"] for panel in dashboard_panels() for target in panel["targets"]]


def test_promtool_checks_the_rules(promtool: Path, tmp_path: Path):
    plain = tools.plain_rules(RULES, tmp_path / "ketalink.rules.yaml")
    result = run_promtool(promtool, "check", "rules", plain.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in result.stdout


def test_the_rules_pass_their_unit_tests(promtool: Path, tmp_path: Path):
    tools.plain_rules(RULES, tmp_path / "ketalink.rules.yaml")
    shutil.copy(RULES_TEST, tmp_path / RULES_TEST.name)
    result = run_promtool(promtool, "test", "rules", RULES_TEST.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_refuses_a_broken_rule_and_a_failing_rule_test(promtool: Path, tmp_path: Path):
    """The two checks can fail: a rule with invalid PromQL, and a rule test whose expectation is wrong."""
    broken_rule = {"alert": "Broken", "expr": "sum by (x (ketalink_outbox_backlog"}
    broken = {"groups": [{"name": "broken", "rules": [broken_rule]}]}
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    assert run_promtool(promtool, "check", "rules", "broken.yaml", cwd=tmp_path).returncode != 0
    tools.plain_rules(RULES, tmp_path / "ketalink.rules.yaml")
    wrong = yaml.safe_load(RULES_TEST.read_text())
    wrong["tests"][0]["alert_rule_test"][0]["exp_alerts"] = [{"exp_labels": {"severity": "warning"}}]
    (tmp_path / "wrong-test.yaml").write_text(yaml.safe_dump(wrong))
    assert run_promtool(promtool, "test", "rules", "wrong-test.yaml", cwd=tmp_path).returncode != 0


def test_every_dashboard_query_is_valid_promql(promtool: Path, tmp_path: Path):
    """Each panel's query parsed by Prometheus's own parser (as a recording rule, the dashboard variable filled)."""
    rules = [{"record": f"ketalink:dashboard_query_{n}", "expr": expr.replace("$namespace", "ketalink")}
             for n, expr in enumerate(dashboard_exprs())]
    (tmp_path / "dashboard.rules.yaml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run_promtool(promtool, "check", "rules", "dashboard.rules.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rule_is_a_prometheus_operator_rule_with_runbooks_that_exist():
    rule = yaml.safe_load(RULES.read_text())
    assert (rule["apiVersion"], rule["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    anchors = {_anchor(line.lstrip("#").strip()) for line in OPERATIONS.read_text().splitlines()
               if line.startswith("## ") or line.startswith("### ")}
    for alert in alerts():
        assert alert["labels"]["severity"] in ("warning", "critical"), alert["alert"]
        path, _, anchor = alert["annotations"]["runbook_url"].partition("#")
        assert path == "docs/operations.md" and anchor in anchors, (alert["alert"], anchor)


def test_every_alert_has_a_unit_test_that_sees_it_fire():
    tested = {case["alertname"] for test in yaml.safe_load(RULES_TEST.read_text())["tests"]
              for case in test["alert_rule_test"] if case["exp_alerts"]}
    assert {alert["alert"] for alert in alerts()} == tested


def test_the_rules_and_the_dashboard_query_only_metrics_the_code_exports():
    import shared.events.worker_metrics  # noqa: F401 - registers the scrape-time collector
    from shared.metrics import exported_metric_names

    exported = exported_metric_names()
    queried = {name for expr in dashboard_exprs() + [alert["expr"] for alert in alerts()]
               for name in METRIC.findall(expr)}
    assert queried, "no ketalink metric found in any query"
    assert queried <= exported, f"not exported by the code: {sorted(queried - exported)}"
    assert all(METRIC.search(expr) for expr in dashboard_exprs()), "a panel queries no Ketalink metric"


def test_the_dashboard_shows_what_operations_need():
    queried = {name for expr in dashboard_exprs() for name in METRIC.findall(expr)}
    needed = {"ketalink_outbox_backlog", "ketalink_outbox_oldest_unsent_age_seconds", "ketalink_consumer_lag",
              "ketalink_messages_consumed_total", "ketalink_ehr_responses_total", "ketalink_ehr_request_seconds_bucket",
              "ketalink_http_request_seconds_bucket", "ketalink_http_requests_total", "ketalink_worker_ready",
              "ketalink_held_records", "ketalink_dead_letters_waiting"}
    assert needed <= queried, sorted(needed - queried)


def test_the_dashboard_is_well_formed_grafana_json():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert "namespace" in variables
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["w"] <= 24 and grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["type"] == "timeseries" and panel["title"], panel
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert ref_ids and len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert 'namespace="$namespace"' in target["expr"], (panel["title"], target["expr"])
    overlaps = [(a["title"], b["title"]) for i, a in enumerate(dashboard["panels"]) for b in dashboard["panels"][i + 1:]
                if _overlap(a["gridPos"], b["gridPos"])]
    assert not overlaps, overlaps


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _overlap(a: dict, b: dict) -> bool:
    across = a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
    return across and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]
