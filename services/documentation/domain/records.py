"""JSON-safe dict conversion for the domain's frozen dataclasses, driven by their type hints.

The service stores sessions, orders and notes as JSON documents; one codec keeps every record's ``to_dict`` /
``from_dict`` consistent (ISO timestamps with offset, enums by value, tuples as lists) instead of each record
hand-writing its own. ``from_dict`` re-runs each record's own checks (``__post_init__``) and reports the failing
field as a path, so a corrupt stored document fails loudly instead of producing a half-valid session.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from datetime import date, datetime
from typing import Any, TypeVar

from services.documentation.domain.errors import DocumentationInputError

R = TypeVar("R", bound="JsonRecord")


class JsonRecord:
    """Mixin for frozen dataclasses: ``to_dict()`` gives a JSON-safe dict, ``from_dict()`` rebuilds the record."""

    def to_dict(self) -> dict[str, Any]:
        return to_json(self)

    @classmethod
    def from_dict(cls: type[R], data: Any) -> R:
        return from_json(cls, data, "")


def to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [to_json(item) for item in value]
    return value


def from_json(annotation: Any, data: Any, path: str) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if data is None:
            return None
        return from_json(options[0], data, path)
    if origin is tuple:
        if not isinstance(data, list):
            raise DocumentationInputError(path, "expected a list")
        item_type = typing.get_args(annotation)[0]
        return tuple(from_json(item_type, item, f"{path}[{i}]") for i, item in enumerate(data))
    if dataclasses.is_dataclass(annotation):
        return _record_from_json(annotation, data, path)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        try:
            return annotation(data)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in annotation)
            raise DocumentationInputError(path, f"expected one of {allowed}, got {data!r}") from None
    if annotation is datetime:
        return parse_aware_datetime(data, path)
    if annotation is date:
        if not isinstance(data, str):
            raise DocumentationInputError(path, "expected an ISO date")
        try:
            return date.fromisoformat(data)
        except ValueError:
            raise DocumentationInputError(path, f"not an ISO date: {data!r}") from None
    if annotation is bool:
        if not isinstance(data, bool):
            raise DocumentationInputError(path, "expected true or false")
        return data
    if annotation is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise DocumentationInputError(path, "expected an integer")
        return data
    if annotation is float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise DocumentationInputError(path, "expected a number")
        return float(data)
    if annotation is str:
        if not isinstance(data, str):
            raise DocumentationInputError(path, "expected a string")
        return data
    raise TypeError(f"no JSON conversion for {annotation!r} at {path or '$'}")


def parse_aware_datetime(data: Any, path: str) -> datetime:
    """An ISO timestamp with a timezone; a naive one is refused because clinic and server zones differ."""
    if isinstance(data, datetime):
        moment = data
    elif isinstance(data, str):
        try:
            moment = datetime.fromisoformat(data.replace("Z", "+00:00"))
        except ValueError:
            raise DocumentationInputError(path, f"not an ISO timestamp: {data!r}") from None
    else:
        raise DocumentationInputError(path, "expected an ISO timestamp")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise DocumentationInputError(path, "timestamp needs a timezone offset")
    return moment


def _record_from_json(cls: Any, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise DocumentationInputError(path, "expected an object")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - known)
    if unknown:
        raise DocumentationInputError(_join(path, unknown[0]), "unknown field")
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        if field.name not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise DocumentationInputError(_join(path, field.name), "required")
            continue
        values[field.name] = from_json(hints[field.name], data[field.name], _join(path, field.name))
    try:
        return cls(**values)
    except DocumentationInputError as error:
        raise error.under(path) from None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
