"""The run-to-completion work in every overlay: the migrations Job (DDL role, before the rollout), the daily prune and
the suspended dead-letter replay, whose commands the real operations CLI parser accepts as meant."""
from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.render import layout
from shared.ops.cli import parser as ops_parser
from tests.deploy import k8s
from tests.deploy.support import Obj

OVERLAYS = layout.OVERLAYS


def _only_container(workload: Obj) -> Obj:
    (container,) = k8s.containers(workload)
    return container


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", layout.SERVICES)
def test_migrations_job_runs_first_with_the_ddl_role(overlay: str, service: str, rendered: dict[str, list[Obj]]):
    objects = rendered[overlay]
    job = k8s.named(objects, "Job", f"{service}-{layout.MIGRATE}")
    container = _only_container(job)
    assert container["command"] == ["python", "-m", "shared.migrate"]
    variables = k8s.container_environment(objects, container)
    assert variables["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": f"{service}-database-migrator",
                                                                      "key": "url"}
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert 0 < job["spec"]["ttlSecondsAfterFinished"] and job["spec"]["backoffLimit"] <= 2
    assert image_of(objects, f"{service}-web") == container["image"], "the Job migrates with the release's code"


def image_of(objects: list[Obj], deployment: str) -> str:
    return _only_container(k8s.named(objects, "Deployment", deployment))["image"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_migrations_job_holds_the_ddl_role(overlay: str, rendered: dict[str, list[Obj]]):
    objects = rendered[overlay]
    for workload, container in k8s.all_containers(objects):
        component = k8s.pod_labels(workload)["app.kubernetes.io/component"]
        service = k8s.pod_labels(workload)["app.kubernetes.io/name"]
        secret = k8s.container_environment(objects, container)["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"]
        expected = f"{service}-database-migrator" if component == layout.MIGRATE else f"{service}-database"
        assert secret == expected, workload["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", layout.SERVICES)
def test_daily_prune_runs_the_ops_cli(overlay: str, service: str, rendered: dict[str, list[Obj]]):
    cronjob = k8s.named(rendered[overlay], "CronJob", f"{service}-{layout.PRUNE}")
    assert cronjob["spec"]["suspend"] is False
    minute, hour, *days = cronjob["spec"]["schedule"].split()
    assert days == ["*", "*", "*"] and re.fullmatch(r"\d+", minute) and re.fullmatch(r"\d+", hour), "once a day"
    command = _only_container(cronjob)["command"]
    assert command[:3] == ["python", "-m", "shared.ops"]
    args = ops_parser().parse_args(command[3:])
    assert (args.service, args.area, args.apply) == (service, "prune", True)


@pytest.mark.parametrize("apply", ["", "true"])
@pytest.mark.parametrize("service", layout.SERVICES)
def test_replay_job_runs_the_ops_cli_dry_by_default(service: str, apply: str, rendered: dict[str, list[Obj]],
                                                    tmp_path: Path):
    """The container's shell line run by a real sh with the ConfigMap's values; a stand-in `python` on PATH (a
    fake, named so) records its arguments, which the real CLI parser then reads."""
    objects = rendered["prod"]
    cronjob = k8s.named(objects, "CronJob", f"{service}-{layout.REPLAY}")
    assert cronjob["spec"]["suspend"] is True, "only started by hand (kubectl create job --from=cronjob/...)"
    defaults = k8s.config_map(objects, f"ketalink-{layout.REPLAY}")
    assert defaults["REPLAY_APPLY"] == "", "a dry run unless an operator says otherwise"
    container = _only_container(cronjob)
    fake_python = tmp_path / "python"
    fake_python.write_text('#!/bin/sh\nexec "$FAKE_RECORDER" "$@"\n')
    fake_python.chmod(fake_python.stat().st_mode | stat.S_IEXEC)
    recorder = tmp_path / "record.py"
    recorder.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    recorder.chmod(recorder.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "FAKE_RECORDER": str(recorder),
           "REPLAY_REASON": "EHR back after outage; ticket 42", "REPLAY_APPLY": apply}
    result = subprocess.run(container["command"], capture_output=True, text=True, env=env, timeout=30, check=True)
    argv = json.loads(result.stdout)
    assert argv[:2] == ["-m", "shared.ops"]
    args = ops_parser().parse_args(argv[2:])
    assert (args.service, args.area, args.command, args.all) == (service, "dead-letters", "replay", True)
    assert args.reason == "EHR back after outage; ticket 42" and args.apply is bool(apply)
    variables = k8s.container_environment(objects, container)
    assert variables["KAFKA_SASL_USERNAME"]["value"] == layout.kafka_user(layout.REPLAY)
