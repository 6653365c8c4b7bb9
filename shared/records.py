"""JSON documents for the services' frozen dataclass records, driven by their type hints.

Every service stores its records (intakes, orders, sessions, notes) as JSON documents; one codec keeps them alike:
timestamps as ISO strings that must carry their offset (clinic, EHR and server zones differ), dates as ISO dates,
enums by value, tuples as lists. Reading a document back is strict: an unknown key, a missing field, a wrong type or
a record's own check (``__post_init__``) failing raises ``RecordError`` naming the field as a path
(``readings[1].measured_at``), so a corrupt stored document fails loudly instead of producing a half-valid record.
Each service decides what that error becomes (``JsonRecord.record_error``).
"""
from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from datetime import date, datetime
from typing import Any, ClassVar, TypeVar

R = TypeVar("R", bound="JsonRecord")


class RecordError(ValueError):
    """A document that does not fit the record. ``path`` names the field (``""`` for the whole document)."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{_json_path(path)}: {message}")

    def under(self, prefix: str) -> RecordError:
        """The same error for a record nested at ``prefix``."""
        return RecordError(_join(prefix, self.path), self.message) if prefix else self


class JsonRecord:
    """Mixin for frozen dataclasses: ``to_dict()`` gives a JSON-safe dict, ``from_dict()`` rebuilds the record."""

    # Read-only properties ``to_dict`` adds for whoever reads the document (e.g. a text computed from the fields);
    # ``from_dict`` skips them, since the record computes them again.
    derived_fields: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        names = [field.name for field in dataclasses.fields(self)]  # type: ignore[arg-type]
        return {name: to_json(getattr(self, name)) for name in names + list(self.derived_fields)}

    @classmethod
    def from_dict(cls: type[R], data: Any) -> R:
        try:
            return from_json(cls, data)
        except RecordError as error:
            raise cls.record_error(error) from None

    @classmethod
    def record_error(cls, error: RecordError) -> Exception:
        """What ``from_dict`` raises for a document that does not fit: the RecordError itself, unless a service
        maps it to its own input error."""
        return error


def to_json(value: Any) -> Any:
    """A JSON-safe copy of ``value``: a record, enum, datetime, date, tuple or list of them, or a JSON scalar."""
    if isinstance(value, JsonRecord):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: to_json(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [to_json(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} as JSON")


def from_json(annotation: Any, data: Any, path: str = "") -> Any:
    """A value of type ``annotation`` rebuilt from ``to_json`` output; RecordError names the path of what is wrong."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        if data is None:
            return None
        options = [option for option in typing.get_args(annotation) if option is not type(None)]
        return from_json(options[0], data, path)
    if origin is tuple:
        return _tuple_from_json(typing.get_args(annotation), data, path)
    if dataclasses.is_dataclass(annotation):
        if not isinstance(data, dict) and hasattr(annotation, "from_json_value"):
            # a record stored in an older shape (e.g. a person stored as a plain name: ``shared.people``)
            return annotation.from_json_value(data, path)
        return _record_from_json(annotation, data, path)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        try:
            return annotation(data)
        except ValueError:
            allowed = ", ".join(str(member.value) for member in annotation)
            raise RecordError(path, f"expected one of {allowed}, got {data!r}") from None
    if annotation is datetime:
        return parse_aware_datetime(data, path)
    if annotation is date:
        return _date_from_json(data, path)
    if annotation is bool:
        if not isinstance(data, bool):
            raise RecordError(path, "expected true or false")
        return data
    if annotation is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise RecordError(path, "expected an integer")
        return data
    if annotation is float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise RecordError(path, "expected a number")
        return float(data)
    if annotation is str:
        if not isinstance(data, str):
            raise RecordError(path, "expected a string")
        return data
    raise TypeError(f"no JSON conversion for {annotation!r} at {_json_path(path)}")


def parse_aware_datetime(data: Any, path: str) -> datetime:
    """An ISO timestamp with a timezone offset (``Z`` allowed); a naive one is refused because clinic and server
    zones differ."""
    if isinstance(data, datetime):
        moment = data
    elif isinstance(data, str):
        try:
            moment = datetime.fromisoformat(data.replace("Z", "+00:00"))
        except ValueError:
            raise RecordError(path, f"not an ISO timestamp: {data!r}") from None
    else:
        raise RecordError(path, "expected an ISO timestamp")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RecordError(path, "timestamp needs a timezone offset")
    return moment


def _date_from_json(data: Any, path: str) -> date:
    if not isinstance(data, str):
        raise RecordError(path, "expected an ISO date")
    try:
        return date.fromisoformat(data)
    except ValueError:
        raise RecordError(path, f"not an ISO date: {data!r}") from None


def _tuple_from_json(item_types: tuple[Any, ...], data: Any, path: str) -> tuple[Any, ...]:
    if not isinstance(data, list):
        raise RecordError(path, "expected a list")
    if len(item_types) == 2 and item_types[1] is Ellipsis:
        return tuple(from_json(item_types[0], item, f"{path}[{i}]") for i, item in enumerate(data))
    if len(data) != len(item_types):
        raise RecordError(path, f"expected {len(item_types)} items, got {len(data)}")
    return tuple(from_json(kind, item, f"{path}[{i}]") for i, (kind, item) in enumerate(zip(item_types, data)))


def _record_from_json(cls: Any, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise RecordError(path, "expected an object")
    hints = _type_hints(cls)
    fields = [field for field in dataclasses.fields(cls) if field.init]
    known = {field.name for field in fields} | set(getattr(cls, "derived_fields", ()))
    unknown = sorted(set(data) - known)
    if unknown:
        raise RecordError(_join(path, unknown[0]), "unknown field")
    values: dict[str, Any] = {}
    for field in fields:
        if field.name in data:
            values[field.name] = from_json(hints[field.name], data[field.name], _join(path, field.name))
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise RecordError(_join(path, field.name), "missing")
    try:
        return cls(**values)
    except RecordError as error:
        raise error.under(path) from None
    except ValueError as error:
        # The record's own check refused the values. Each service's input error names its ``field``.
        field = getattr(error, "field", "")
        raise RecordError(_join(path, field), getattr(error, "message", str(error))) from None


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _join(path: str, name: str) -> str:
    if not path:
        return name
    if not name:
        return path
    return f"{path}{'' if name.startswith('[') else '.'}{name}"


def _json_path(path: str) -> str:
    """``readings[1].at`` as ``$.readings[1].at``, the whole document as ``$``."""
    return "$" + ("" if not path else path if path.startswith("[") else f".{path}")
