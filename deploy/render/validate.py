"""Validate Kubernetes objects offline with kubeconform in strict mode (an unknown field, a wrong type or enum value,
a duplicated key is an error) against the upstream schemas deploy/render/schemas.py builds: the Kubernetes release's
own OpenAPI schemas and the operators' own CRDs. A kind with no schema is an error, never a silent pass.

``python -m deploy.render.validate VERSION... < objects.yaml`` prints the failures as JSON (exit 1 if any).
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from deploy.render import schemas, tools

TIMEOUT_S = 300


@dataclass(frozen=True)
class Failure:
    """One object kubeconform did not accept under one Kubernetes version."""

    object: str  # Kind/name
    version: str
    error: str


def _documents(objects: list[dict[str, Any]] | str) -> str:
    if isinstance(objects, str):
        return objects
    return "".join("---\n" + yaml.safe_dump(obj, sort_keys=False) for obj in objects)


def validate(objects: list[dict[str, Any]] | str, version: str, *, kubeconform: Path | None = None,
             schema_dir: Path | None = None) -> list[Failure]:
    """Every object (a list, or YAML text with several documents) against Kubernetes ``version`` (e.g. 1.31.0)."""
    binary = kubeconform or tools.kubeconform()
    directory = schema_dir or schemas.ensure()
    command = [str(binary), "-strict", "-output", "json", "-verbose", "-kubernetes-version", version]
    for location in schemas.locations(directory):
        command += ["-schema-location", location]
    result = subprocess.run([*command, "-"], input=_documents(objects), capture_output=True, text=True,
                            timeout=TIMEOUT_S, check=False)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise tools.ToolError(f"kubeconform exited {result.returncode} without a report: "
                              f"{result.stdout[-1500:]}{result.stderr[-1500:]}") from None
    failures = []
    for resource in report.get("resources") or []:
        if resource.get("status") == "statusValid":
            continue
        if resource.get("status") in ("statusEmpty", "") and not resource.get("kind"):
            continue  # an empty document: what a Helm toggle leaves out
        errors = resource.get("validationErrors") or []
        detail = "; ".join(f"{error.get('path', '')}: {error.get('msg', '')}" for error in errors)
        message = resource.get("msg", "")
        if " - at " in message:  # the innermost causes, where the paths alone say only "validation failed"
            detail = message[message.index(" - at ") + 3:]
        failures.append(Failure(f"{resource.get('kind')}/{resource.get('name')}", version,
                                detail or message or resource.get("status", "?")))
    return failures


def main() -> None:
    versions = sys.argv[1:] or schemas.kubernetes_versions()
    text = sys.stdin.read()
    failures = [failure.__dict__ for version in versions for failure in validate(text, version)]
    json.dump(failures, sys.stdout, indent=1)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
