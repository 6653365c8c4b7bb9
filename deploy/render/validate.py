"""Validate Kubernetes objects offline; runs in the tools venv (var/tools/venv), which has kubernetes-validate.

Built-in kinds are checked against the Kubernetes OpenAPI schemas that kubernetes-validate ships, in their strict
form (an unknown field is an error), for each Kubernetes version asked for. Custom resources (Strimzi, Prometheus
Operator) are checked against the structural schemas in deploy/render/schemas/, which reuse the Kubernetes
definitions for metadata and label selectors. A kind with neither is an error, never a silent pass.

stdin: a JSON list of objects; argv: Kubernetes versions (e.g. 1.31 1.37). stdout: a JSON list of
``{"object", "version", "error"}``; exit status 0 even when some fail (the caller reports them).
"""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate.utils as kv
from referencing import Registry, Resource

SCHEMAS = Path(__file__).with_name("schemas")
kv.schema_contents = functools.lru_cache(maxsize=None)(kv.schema_contents)  # each file parsed once, not per object


def custom_schema(obj: dict[str, Any]) -> dict[str, Any] | None:
    group_version = obj.get("apiVersion", "").replace("/", "-")
    path = SCHEMAS / f"{str(obj.get('kind', '')).lower()}-{group_version}.json"
    return json.loads(path.read_text()) if path.exists() else None


@functools.lru_cache(maxsize=None)
def definitions(version: str) -> Resource:  # type: ignore[type-arg]
    schema_dir = [v for v in kv.all_versions() if kv.major_minor(v) <= kv.major_minor(version)][-1]
    return Resource.from_contents(
        kv.schema_contents(f"kubernetes-json-schema/v{schema_dir}-local-strict/_definitions.json", version))


def validate_custom(obj: dict[str, Any], schema: dict[str, Any], version: str) -> list[str]:
    registry: Registry = Registry().with_resource("https://kubernetes.io/api/_definitions.json",  # type: ignore
                                                  definitions(version))
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    return [f"{'.'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
            for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))]


def validate(obj: dict[str, Any], version: str) -> list[str]:
    schema = custom_schema(obj)
    if schema is not None:
        return validate_custom(obj, schema, version)
    try:
        kv.validate(obj, version, strict=True)
    except kv.SchemaNotFoundError as error:
        return [f"no schema: {error.message}"]
    except kv.ValidationError as error:
        where = ".".join(map(str, error.absolute_path)) or "<root>"
        return [f"{where}: {error.message}"]
    return []


def main() -> None:
    versions = sys.argv[1:]
    if not versions:
        sys.exit("usage: python -m deploy.render.validate VERSION... < objects.json")
    objects = json.load(sys.stdin)
    failures = []
    for obj in objects:
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        for version in versions:
            for error in validate(obj, version):
                failures.append({"object": name, "version": version, "error": error})
    json.dump(failures, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
