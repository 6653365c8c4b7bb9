"""Dataclass <-> JSON-safe dict conversion for domain records, driven by type hints, so every record stores and
reloads the same way (enums by value, datetimes and dates as ISO strings, tuples as lists)."""
from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from datetime import date, datetime
from typing import Any, TypeVar

T = TypeVar("T")


class StoredRecordError(ValueError):
    """A stored document does not match the record shape; the message names the path."""


def to_json(value: Any) -> Any:
    """A JSON-safe copy of ``value`` (dataclass, enum, datetime, date, tuple, scalar)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: to_json(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [to_json(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} as JSON")


def from_json(annotation: Any, data: Any, path: str = "$") -> Any:
    """Rebuild a value of type ``annotation`` from ``to_json`` output; StoredRecordError names the bad path."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if data is None:
            return None
        return from_json(options[0], data, path)
    if origin is tuple:
        if not isinstance(data, list):
            raise StoredRecordError(f"{path}: expected a list")
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_json(args[0], item, f"{path}[{i}]") for i, item in enumerate(data))
        return tuple(from_json(arg, item, f"{path}[{i}]") for i, (arg, item) in enumerate(zip(args, data)))
    if dataclasses.is_dataclass(annotation):
        return _dataclass_from_json(annotation, data, path)
    if data is None:
        raise StoredRecordError(f"{path}: missing value")
    try:
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            return annotation(data)
        if annotation is datetime:
            moment = datetime.fromisoformat(data)
            if moment.tzinfo is None:
                raise ValueError("timestamp without timezone")
            return moment
        if annotation is date:
            return date.fromisoformat(data)
        if annotation is bool:
            if not isinstance(data, bool):
                raise ValueError("expected true or false")
            return data
        if annotation in (int, float, str):
            return annotation(data)
    except (TypeError, ValueError) as error:
        raise StoredRecordError(f"{path}: {error}") from None
    raise StoredRecordError(f"{path}: unsupported type {annotation!r}")


def _dataclass_from_json(cls: type[T], data: Any, path: str) -> T:
    if not isinstance(data, dict):
        raise StoredRecordError(f"{path}: expected an object")
    hints = _type_hints(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name in data:
            values[field.name] = from_json(hints[field.name], data[field.name], f"{path}.{field.name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise StoredRecordError(f"{path}.{field.name}: missing")
    return cls(**values)


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


class JsonRecord:
    """Mixin giving a frozen dataclass ``to_dict()`` / ``from_dict()`` for storage as a JSON document."""

    def to_dict(self) -> dict[str, Any]:
        return to_json(self)

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        return from_json(cls, data)
