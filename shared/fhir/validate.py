"""Structural validation with the fhir.resources R4B models (R4B matches R4 for the resources used here).

It checks structure only (unknown fields, types, cardinality); translators check codes and profile rules.

Strictly by FHIR JSON's own types: the models coerce (a number where a dateTime or decimal-as-text is wanted, ``"true"``
for a boolean, ``"5"`` for an integer) and read a JSON ``null`` as absent, but FHIR JSON allows neither, and a rule that
reads ``"doseQuantity": null`` as present, or a number as 1970, decides on what the sender never said. So a ``null``
(other than the placeholder FHIR allows in a primitive array that has ``_name`` extensions beside it) and any value
whose JSON type the model had to change are refused, each naming its field.

Validation is the largest CPU cost of handling a message, and most outbound resources are validated twice: by
their translator, then inside their message. So the digests of the last few hundred resources that passed are
remembered, and the same content passes again at the cost of one JSON serialisation (the profile is in
docs/performance.md). Validation is a pure function of the content, so this changes no outcome.

The coercion check walks the validated model beside the given JSON (``_coerced_in_model``) instead of serialising
the model and comparing JSON: fhir.resources' serialiser was over half the cost of a validation (issue 19). A value
the walk cannot type falls back to the serialised comparison; tests/unit/shared/test_validate_model_walk.py holds
the two to the same verdicts."""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from datetime import date, time
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from fhir.resources.R4B import get_fhir_model_class


class FhirValidationError(ValueError):
    """A resource failed validation; ``issues`` holds (FHIRPath-like location, message) pairs."""

    def __init__(self, issues: list[tuple[str, str]]):
        self.issues = issues
        super().__init__("; ".join(f"{where}: {what}" for where, what in issues))


class _PassedRecently:
    """Digests of recently validated resources (least recently used dropped first)."""

    def __init__(self, size: int = 512):
        self._size = size
        self._digests: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def digest(resource: dict[str, Any]) -> bytes | None:
        try:
            text = json.dumps(resource, sort_keys=True, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError):  # not plain JSON: leave it to the model to say what is wrong
            return None
        return hashlib.blake2b(text.encode(), digest_size=16).digest()

    def __contains__(self, digest: bytes) -> bool:
        with self._lock:
            if digest in self._digests:
                self._digests.move_to_end(digest)
                return True
            return False

    def add(self, digest: bytes) -> None:
        with self._lock:
            self._digests[digest] = None
            if len(self._digests) > self._size:
                self._digests.popitem(last=False)


_passed = _PassedRecently()


def validate_resource(resource: dict[str, Any], *, remember: bool = True) -> dict[str, Any]:
    """Validate ``resource`` and return it unchanged; raise FhirValidationError naming each failing field.
    ``remember=False``: content that is new every time (a message's envelope with its fresh ids) is neither looked
    up nor remembered, which saves its digest."""
    if not isinstance(resource, dict):
        raise FhirValidationError([("$", "a FHIR resource must be a JSON object")])
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        raise FhirValidationError([("resourceType", "missing")])
    digest = _passed.digest(resource) if remember else None
    if digest is not None and digest in _passed:
        return resource
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError, AttributeError):
        raise FhirValidationError([("resourceType", f"unknown resource type {resource_type!r}")]) from None
    nulls = _nulls(resource, resource_type)
    if nulls:
        raise FhirValidationError([(where, "a JSON null is not FHIR: leave the element out") for where in nulls])
    try:
        validated = model.model_validate(resource)
    except ValidationError as error:
        raise FhirValidationError(
            [(_location(resource_type, e["loc"]), e["msg"]) for e in error.errors(include_url=False)]
        ) from None
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        # fhir.resources itself fails on some malformed input (a nested "resourceType": null raises TypeError):
        # still invalid input, never an error of the caller's.
        raise FhirValidationError([(resource_type, f"malformed content ({type(error).__name__})")]) from None
    coerced: list[tuple[str, str]] = []
    try:
        _coerced_in_model(resource, validated, resource_type, coerced)
    except _Unsure:  # a value the walk does not know how FHIR JSON writes: compare with the model's own JSON
        coerced = []
        _coerced(resource, json.loads(validated.model_dump_json(by_alias=True, exclude_none=True)), resource_type,
                 coerced)
    if coerced:
        raise FhirValidationError(coerced)
    if digest is not None:
        _passed.add(digest)
    return resource


def _nulls(value: Any, path: str) -> list[str]:
    """Where ``value`` holds a JSON null; a null in a primitive array is FHIR's placeholder only when the array has
    its ``_name`` twin beside it (values and their extensions kept in step)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}"
            if item is None:
                found.append(where)
            elif isinstance(item, list) and isinstance(value.get(_twin(key)), list):
                found += [f for index, element in enumerate(item) if element is not None
                          for f in _nulls(element, f"{where}[{index}]")]
            else:
                found += _nulls(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += [f"{path}[{index}]"] if item is None else _nulls(item, f"{path}[{index}]")
    return found


def _twin(key: str) -> str:
    """``given`` ↔ ``_given``: a primitive element and its extensions."""
    return key[1:] if key.startswith("_") else f"_{key}"


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else "null"


def _coerced(given: Any, kept: Any, path: str, issues: list[tuple[str, str]]) -> None:
    """Each place where the model kept a value of another JSON type than the one given (it coerced it)."""
    if isinstance(given, dict) and isinstance(kept, dict):
        for key, value in given.items():
            if key in kept:
                _coerced(value, kept[key], f"{path}.{key}", issues)
    elif isinstance(given, list) and isinstance(kept, list):
        if len(given) == len(kept):
            for index, (one, other) in enumerate(zip(given, kept)):
                _coerced(one, other, f"{path}[{index}]", issues)
    elif _json_type(given) != _json_type(kept):
        issues.append((path, f"FHIR JSON wants a {_json_type(kept)} here, not a {_json_type(given)}"))


class _Unsure(Exception):
    """The model holds a value whose JSON type ``_kept_json_type`` cannot tell."""


_ALIASES: dict[type, dict[str, str]] = {}


def _fields_by_alias(model_class: type[BaseModel]) -> dict[str, str]:
    """JSON name -> attribute name of a model's fields (``class`` -> ``class_fhir``, ``_given`` -> ``given__ext``):
    the names the model's JSON has, as ``model_dump_json(by_alias=True)`` writes them."""
    names = _ALIASES.get(model_class)
    if names is None:
        names = {(info.alias or name): name for name, info in model_class.model_fields.items()}
        _ALIASES[model_class] = names
    return names


def _kept_json_type(kept: Any) -> str:
    """The JSON type the model writes ``kept`` as: FHIR's primitives are kept as bool, int or Decimal (numbers), or
    str, date, datetime, time and bytes (base64), all written as strings."""
    if isinstance(kept, bool):
        return "boolean"
    if isinstance(kept, (int, float, Decimal)):
        return "number"
    if isinstance(kept, (str, date, time, bytes)):  # datetime is a date
        return "string"
    if kept is None:
        return "null"
    if isinstance(kept, list):
        return "array"
    if isinstance(kept, BaseModel):
        return "object"
    raise _Unsure


def _coerced_in_model(given: Any, kept: Any, path: str, issues: list[tuple[str, str]]) -> None:
    """``_coerced`` walking the validated model itself instead of its JSON: the same places, the same verdicts,
    without serialising the model (that serialisation was half the cost of validating, docs/performance.md)."""
    if isinstance(given, dict) and isinstance(kept, BaseModel):
        names = _fields_by_alias(type(kept))
        for key, value in given.items():
            name = names.get(key)
            if name is None:
                continue  # resourceType (checked above), or a key the model's JSON does not write
            held = getattr(kept, name)
            if held is not None:  # the model's JSON leaves an absent element out
                _coerced_in_model(value, held, f"{path}.{key}", issues)
    elif isinstance(given, list) and isinstance(kept, list):
        if len(given) == len(kept):
            for index, (one, other) in enumerate(zip(given, kept)):
                _coerced_in_model(one, other, f"{path}[{index}]", issues)
    elif isinstance(given, dict) and isinstance(kept, dict):
        raise _Unsure
    else:
        kept_type = _kept_json_type(kept)
        if _json_type(given) != kept_type:
            issues.append((path, f"FHIR JSON wants a {kept_type} here, not a {_json_type(given)}"))


def validate_bundle(bundle: dict[str, Any]) -> dict[str, Any]:
    """Validate a Bundle as its envelope plus each entry's resource on its own, so a resource its translator
    validated a moment ago is not validated again inside the Bundle (``validate_resource`` remembers it). The
    envelope, with its fresh ids, is new every time: it is not remembered."""
    entries = bundle.get("entry")
    if bundle.get("resourceType") != "Bundle" or not isinstance(entries, list) or not all(
            isinstance(e, dict) for e in entries):
        return validate_resource(bundle)
    validate_resource({**bundle, "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries]},
                      remember=False)
    for index, entry in enumerate(entries):
        if "resource" in entry:
            try:
                validate_resource(entry["resource"])
            except FhirValidationError as error:
                raise FhirValidationError([(f"Bundle.entry[{index}].resource.{where.partition('.')[2] or where}",
                                            what) for where, what in error.issues]) from None
    return bundle


def remember_entries(bundle: dict[str, Any]) -> None:
    """After ``bundle`` passed ``validate_resource`` whole: each entry's resource passed with its own model, nulls
    and coerced values refused, so a translator that validates one of them again finds it remembered."""
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        digest = _passed.digest(resource) if isinstance(resource, dict) else None
        if digest is not None:
            _passed.add(digest)


def _location(resource_type: str, loc: tuple[Any, ...]) -> str:
    path = resource_type
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path
