"""The stored sessions and orders this process last read or wrote, so the next read or write of the same record
decodes or encodes only what changed.

A session document holds every reading of the infusion and grows with each one; decoding it whole
(``shared.records``: the field checks and each record's own ``__post_init__``) and encoding it whole cost more than
everything else a reading does (docs/performance.md, "Issue 19"). Here each record read or written is kept with the
exact stored text and its parsed JSON:

- a read whose stored text is the text kept is the record kept (decoding is a pure function of the text);
- a read of another text (another process or thread wrote a newer version) parses it and decodes, field by field
  and item by item, only the parts whose JSON differs from the kept JSON; a part that is the same JSON, same types
  included (``1`` is not ``1.0`` nor ``true``), is the part decoded before. The record is then built by its class
  as a full decode builds it, so its own checks run; anything unexpected (an unknown or missing field) is decoded in
  full, which raises the error a full decode raises;
- a write encodes only the parts that are not the very objects (records are frozen, their fields tuples) of the
  record kept, and keeps what it wrote.

Nothing here decides what is current: every read still reads the row, and the version a write names is the
row's (``shared.db.RecordStore``'s optimistic check). A write whose transaction rolls back leaves an entry whose
text is not in the store; the next read finds another text and decodes it."""
from __future__ import annotations

import dataclasses
import functools
import json
import threading
import types
import typing
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.records import JsonRecord, from_json, to_json

R = TypeVar("R", bound=JsonRecord)

# Records kept per process: a clinic's sessions of the day and their orders, many times over. An entry holds its
# text, parsed JSON and record (~0.2 MB for a session of 60 readings).
CAPACITY = 64


@dataclass(frozen=True)
class _Kept:
    text: str
    data: dict[str, Any]
    record: JsonRecord


class DecodedRecords:
    def __init__(self, capacity: int = CAPACITY):
        self._capacity = capacity
        self._kept: OrderedDict[tuple[str, str], _Kept] = OrderedDict()
        self._lock = threading.Lock()

    def decode(self, cls: type[R], kind: str, record_id: str, text: str) -> tuple[R, dict[str, Any]]:
        """The record stored as ``text`` and its parsed JSON (``cls.from_dict``'s errors for a document that does
        not fit)."""
        kept = self._get(kind, record_id)
        if kept is not None and type(kept.record) is cls:
            if kept.text == text:
                return kept.record, kept.data  # type: ignore[return-value]
            data = json.loads(text)
            record = _decode_changed(cls, data, kept.data, kept.record)
        else:
            data = json.loads(text)
            record = cls.from_dict(data)
        self._put(kind, record_id, _Kept(text, data, record))
        return record, data

    def encode(self, kind: str, record_id: str, record: JsonRecord) -> tuple[str, dict[str, Any]]:
        """The stored text of ``record`` and its JSON, kept as the record's latest (see the module's docstring)."""
        kept = self._get(kind, record_id)
        if kept is not None and type(kept.record) is type(record):
            data = _encode_changed(record, kept.record, kept.data)
        else:
            data = record.to_dict()
        text = json.dumps(data)
        self._put(kind, record_id, _Kept(text, data, record))
        return text, data

    def _get(self, kind: str, record_id: str) -> _Kept | None:
        with self._lock:
            kept = self._kept.get((kind, record_id))
            if kept is not None:
                self._kept.move_to_end((kind, record_id))
            return kept

    def _put(self, kind: str, record_id: str, kept: _Kept) -> None:
        with self._lock:
            self._kept[(kind, record_id)] = kept
            self._kept.move_to_end((kind, record_id))
            while len(self._kept) > self._capacity:
                self._kept.popitem(last=False)


# --- decoding what changed ---------------------------------------------------------------------------------------
def _decode_changed(cls: type[R], data: Any, old_data: dict[str, Any], old: R) -> R:
    """``cls.from_dict(data)``, reusing the parts of ``old`` (decoded from ``old_data``) whose JSON is the same."""
    try:
        if not isinstance(data, dict):
            raise _FullDecode
        record = _record(cls, data, old_data, old)  # not compared whole first: the texts differ
    except Exception:  # noqa: BLE001 - whatever went wrong, the full decode raises the error it is meant to raise
        return cls.from_dict(data)
    return record  # type: ignore[no-any-return]


def _reuse_or_decode(annotation: Any, data: Any, old_data: Any, old: Any) -> Any:
    if same_json(data, old_data):
        return old
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [option for option in typing.get_args(annotation) if option is not type(None)]
        if data is None or old is None or len(options) != 1:
            return from_json(annotation, data)
        return _reuse_or_decode(options[0], data, old_data, old)
    if origin is tuple and isinstance(data, list) and isinstance(old_data, list):
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return _items(args[0], data, old_data, old)
    if (dataclasses.is_dataclass(annotation) and isinstance(data, dict) and isinstance(old_data, dict)
            and type(old) is annotation):
        return _record(annotation, data, old_data, old)
    return from_json(annotation, data)


def _items(item_type: Any, data: list[Any], old_data: list[Any], old: tuple[Any, ...]) -> tuple[Any, ...]:
    """A tuple's items: each one the same JSON as the old item at its place, or as any old item (a reading charted
    between two earlier ones moves the later ones along), is that old item; the others are decoded."""
    by_text: dict[str, Any] | None = None
    items = []
    for index, item in enumerate(data):
        if index < len(old_data) and same_json(item, old_data[index]):
            items.append(old[index])
            continue
        if by_text is None:
            by_text = {_canonical(o): value for o, value in zip(old_data, old)}
        reused = by_text.get(_canonical(item), _MISSING)
        items.append(from_json(item_type, item) if reused is _MISSING else reused)
    return tuple(items)


def _record(cls: Any, data: dict[str, Any], old_data: dict[str, Any], old: Any) -> Any:
    fields = [field for field in dataclasses.fields(cls) if field.init]
    known = {field.name for field in fields} | set(getattr(cls, "derived_fields", ()))
    if set(data) - known or any(field.name not in data for field in fields):
        raise _FullDecode  # an unknown or a missing field (even one with a default): the full decode decides
    hints = _hints(cls)
    values = {}
    for field in fields:
        value = data[field.name]
        if field.name in old_data:
            values[field.name] = _reuse_or_decode(hints[field.name], value, old_data[field.name],
                                                  getattr(old, field.name))
        else:
            values[field.name] = from_json(hints[field.name], value)
    return cls(**values)


class _FullDecode(Exception):
    pass


_MISSING = object()


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _canonical(data: Any) -> str:
    """JSON text that tells apart what ``same_json`` tells apart (``1``, ``1.0`` and ``true`` differ)."""
    return json.dumps(data)


def same_json(a: Any, b: Any) -> bool:
    """The same JSON value, types included: Python's ``==`` takes ``1``, ``1.0`` and ``True`` for one value, the
    codec does not (an integer field refuses ``true``)."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict:
        return a.keys() == b.keys() and all(same_json(value, b[key]) for key, value in a.items())
    if kind is list:
        return len(a) == len(b) and all(map(same_json, a, b))
    return bool(a == b)


# --- encoding what changed ---------------------------------------------------------------------------------------
def _encode_changed(record: Any, old: Any, old_data: Any) -> Any:
    """``to_json(record)``, reusing the JSON of ``old``'s parts that are the very objects ``record`` holds."""
    if record is old:
        return old_data
    if isinstance(record, tuple) and isinstance(old, tuple) and isinstance(old_data, list):
        by_identity: dict[int, Any] = {id(item): data for item, data in zip(old, old_data)}
        # ids are only compared while ``old`` holds its items, so none is reused by another object meanwhile
        return [by_identity[id(item)] if id(item) in by_identity else to_json(item) for item in record]
    if (isinstance(record, JsonRecord) and type(record) is type(old) and isinstance(old_data, dict)
            and not getattr(record, "derived_fields", ())):
        encoded: dict[str, Any] = {}
        for field in dataclasses.fields(record):  # type: ignore[arg-type]
            value, old_value = getattr(record, field.name), getattr(old, field.name)
            encoded[field.name] = (_encode_changed(value, old_value, old_data[field.name])
                                   if field.name in old_data else to_json(value))
        return encoded
    return to_json(record)

