"""JSON Schemas of the services' answers, derived from the records they present.

The presenters answer with ``record.to_dict()`` (``shared/records.py``: timestamps and dates as ISO strings, enums
by value, tuples as lists, nested records as objects) plus a few keys of their own. ``record_schema`` reads the same
type hints ``to_dict`` follows, so the OpenAPI documents describe what the services really send, and a record that
gains a field is documented with it. ``answer`` adds a presenter's own keys. Objects stay open
(``additionalProperties`` allowed): a client may rely on what is declared, a new key breaks nothing.
"""
from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from shared.records import JsonRecord  # the codec whose output these schemas describe

STRING: dict[str, Any] = {"type": "string"}
INTEGER: dict[str, Any] = {"type": "integer"}
NUMBER: dict[str, Any] = {"type": "number"}
BOOLEAN: dict[str, Any] = {"type": "boolean"}
OBJECT: dict[str, Any] = {"type": "object"}
DATE_TIME: dict[str, Any] = {"type": "string", "description": "ISO 8601 date-time with its UTC offset"}
DATE: dict[str, Any] = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}


def nullable(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` or null (OpenAPI 3.1: a JSON Schema union)."""
    return {"anyOf": [dict(schema), {"type": "null"}]}


def array(items: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": dict(items)}


def obj(properties: Mapping[str, Mapping[str, Any]], required: tuple[str, ...] | None = None) -> dict[str, Any]:
    """An object with ``properties``, all of them required unless ``required`` names fewer."""
    return {"type": "object", "properties": {k: dict(v) for k, v in properties.items()},
            "required": list(properties if required is None else required)}


def record_schema(cls: type) -> dict[str, Any]:
    """The schema of ``cls().to_dict()`` for a dataclass record: every field, required (``to_dict`` writes each),
    typed by its hint; ``derived_fields`` as present but untyped."""
    return _type_schema(cls, ())


def answer(record: type | None = None, **extra: Mapping[str, Any]) -> dict[str, Any]:
    """A presenter's answer: ``record``'s schema (when it spreads ``to_dict()``) with its own keys ``extra``, all
    required."""
    schema = record_schema(record) if record is not None else {"type": "object", "properties": {}, "required": []}
    schema["properties"].update({key: dict(value) for key, value in extra.items()})
    schema["required"] = list(dict.fromkeys([*schema["required"], *extra]))
    return schema


def _type_schema(annotation: Any, seen: tuple[type, ...]) -> dict[str, Any]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        inner = _type_schema(options[0], seen) if len(options) == 1 else {"anyOf": [_type_schema(o, seen)
                                                                                   for o in options]}
        return nullable(inner) if len(options) < len(typing.get_args(annotation)) else inner
    if origin in (tuple, list, frozenset, set):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return array(_type_schema(args[0], seen) if args else {})
    if origin in (dict, Mapping) or annotation is dict:
        args = typing.get_args(annotation)
        return {"type": "object", **({"additionalProperties": _type_schema(args[1], seen)} if args else {})}
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return _dataclass_schema(annotation, seen)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {"enum": [member.value for member in annotation]}
    simple = {bool: BOOLEAN, int: INTEGER, float: NUMBER, str: STRING, datetime: DATE_TIME, date: DATE}
    return dict(simple.get(annotation, {}))


def _dataclass_schema(cls: type, seen: tuple[type, ...]) -> dict[str, Any]:
    if cls in seen:  # a recursive record: say no more than "an object"
        return dict(OBJECT)
    to_dict = getattr(cls, "to_dict", None)
    if to_dict is not None and to_dict is not JsonRecord.to_dict:
        return dict(OBJECT)  # the record writes itself in its own shape
    hints = typing.get_type_hints(cls)
    properties = {f.name: _type_schema(hints[f.name], (*seen, cls)) for f in dataclasses.fields(cls)}
    for derived in getattr(cls, "derived_fields", ()):
        properties[derived] = {}
    return {"type": "object", "properties": properties, "required": list(properties)}


@dataclasses.dataclass(frozen=True)
class Answer:
    """A success answer of the API under its name in the OpenAPI document's components (``Intake``, ``Order``)."""

    name: str
    schema: dict[str, Any]
