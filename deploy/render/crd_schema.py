"""Upstream schemas turned into the JSON schemas kubeconform reads, in its strict form (an unknown field is an
error), the way kubeconform's own scripts/openapi2jsonschema.py does it, written here so nothing is fetched at run
time.

- Kubernetes: kubernetes-validate ships each release's OpenAPI definitions as JSON schema ("local-strict": one file
  per kind, every ``$ref`` into a shared ``https://kubernetes.io/api/_definitions.json``). kubeconform resolves no
  such remote reference offline, so each kind becomes standalone: the definitions it reaches are copied into its own
  ``$defs``.
- Operators' CRDs (Strimzi, Prometheus Operator, cert-manager, Gateway API): each served version's
  ``openAPIV3Schema`` becomes ``<group>/<kind>_<version>.json``; objects that declare properties get
  ``additionalProperties: false`` unless the CRD keeps unknown fields (``x-kubernetes-preserve-unknown-fields``) or
  declares additional properties itself; ``x-kubernetes-int-or-string`` becomes integer-or-string.
"""
from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

Schema = dict[str, Any]
DEFINITIONS_REF = "/api/_definitions.json#/$defs/"
LOCAL_REF = "#/$defs/"


# -- Kubernetes built-in kinds -----------------------------------------------------------------------------------
def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _local_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: (value.replace(DEFINITIONS_REF, "#/$defs/") if key == "$ref" and isinstance(value, str)
                      else _local_refs(value)) for key, value in node.items()}
    if isinstance(node, list):
        return [_local_refs(item) for item in node]
    return node


def standalone(kind_schema: Schema, definitions: dict[str, Schema]) -> Schema:
    """One kind's schema with the definitions it reaches (transitively) inlined under ``$defs``."""
    def names(node: Any) -> list[str]:  # refs as the kind files write them, or local ones inside the definitions
        return [ref.removeprefix(DEFINITIONS_REF).removeprefix(LOCAL_REF) for ref in _refs(node)
                if ref.startswith((DEFINITIONS_REF, LOCAL_REF))]

    needed: set[str] = set()
    pending = names(kind_schema)
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        if name not in definitions:
            raise KeyError(f"definition {name} not found")
        needed.add(name)
        pending += names(definitions[name])
    result = _local_refs(kind_schema)
    result.pop("$id", None)  # a file path identifies it; a kubernetes.io $id would make refs resolve remotely
    result["$defs"] = {name: _local_refs(definitions[name]) for name in sorted(needed)}
    return result


# -- CustomResourceDefinitions ------------------------------------------------------------------------------------
def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _strict(value) for key, value in node.items()}
    if result.pop("x-kubernetes-int-or-string", False):
        for key in ("type", "format"):
            result.pop(key, None)
        result["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    preserve = result.get("x-kubernetes-preserve-unknown-fields") is True
    if "properties" in result and "additionalProperties" not in result and not preserve:
        result["additionalProperties"] = False
    return result


OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def object_meta(definitions: dict[str, Schema]) -> Schema:
    """ObjectMeta as the API server checks it on every custom resource (a CRD's own schema says only ``object``),
    standalone: ``{"$ref": ..., "$defs": {...}}``."""
    return standalone({"$ref": DEFINITIONS_REF + OBJECT_META}, definitions)


def crd_schemas(crd: Schema, metadata: Schema | None = None) -> dict[str, Schema]:
    """``<group>/<kind>_<version>.json`` (lower case, kubeconform's CRD naming) → strict schema, per served
    version of one CustomResourceDefinition; ``metadata`` (see ``object_meta``) replaces the CRD's bare
    ``metadata: {type: object}``."""
    if crd.get("kind") != "CustomResourceDefinition":
        raise ValueError(f"not a CustomResourceDefinition: {crd.get('kind')!r}")
    spec = crd["spec"]
    group, kind = spec["group"], spec["names"]["kind"]
    result = {}
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
        strict = _strict(schema)
        strict.setdefault("additionalProperties", False)  # the root: apiVersion, kind, metadata, spec, status
        strict["$schema"] = "http://json-schema.org/draft-07/schema#"
        if metadata is not None and "metadata" in strict.get("properties", {}):
            strict["properties"]["metadata"] = {"$ref": metadata["$ref"]}
            strict["$defs"] = metadata["$defs"]
        result[f"{group}/{kind.lower()}_{version['name']}.json"] = strict
    return result


def dumps(schema: Schema) -> str:
    return json.dumps(schema, indent=1, sort_keys=True) + "\n"
