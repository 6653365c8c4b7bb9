"""Bounds on untrusted JSON, checked on the raw text before it is parsed.

Python's JSON parser recurses once per nested array or object, so a body nested a few thousand deep raises
RecursionError: a 500 on HTTP, and on Kafka an unexpected error that was retried before it was dead-lettered.
``nesting_depth`` measures the depth in one pass without recursion (brackets inside strings do not count), so the
web edge can refuse such a body with a 400 and the consumer can dead-letter such a record at once. FHIR resources
and Ketalink's bodies nest far less than the default bound."""
from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_BODY_BYTES = 1_048_576
DEFAULT_MAX_ARRAY_ITEMS = 1_000


@dataclass(frozen=True)
class JsonBounds:
    """``KETALINK_MAX_BODY_BYTES`` (default 1 MiB): the largest request body any route takes (413 above it);
    ``KETALINK_MAX_JSON_DEPTH`` (default 64): the deepest nesting of a JSON body or Kafka record;
    ``KETALINK_MAX_JSON_ARRAY_ITEMS`` (default 1000): the longest array in a request body, counted before any item
    is validated (a body's own fields declare tighter bounds; no Ketalink body needs more than 100)."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_json_depth: int = DEFAULT_MAX_DEPTH
    max_json_array_items: int = DEFAULT_MAX_ARRAY_ITEMS

    def validate(self) -> None:
        if not 1_024 <= self.max_body_bytes <= 64 * 1_048_576:
            raise ValueError("max_body_bytes must be 1024-67108864")
        if not 8 <= self.max_json_depth <= 512:
            raise ValueError("max_json_depth must be 8-512")
        if not 10 <= self.max_json_array_items <= 100_000:
            raise ValueError("max_json_array_items must be 10-100000")


def nesting_depth(raw: bytes | str, stop_above: int | None = None) -> int:
    """The deepest nesting of arrays and objects in JSON text ``raw``; stops counting once past ``stop_above``."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def too_deep(raw: bytes | str, max_depth: int = DEFAULT_MAX_DEPTH) -> bool:
    return nesting_depth(raw, stop_above=max_depth) > max_depth


def array_over(value: object, max_items: int) -> tuple[str, int] | None:
    """(where, length) of an array longer than ``max_items`` in parsed JSON ``value`` (``where`` as
    ``field[3].items``), or None. An array is measured before its items are looked at, so a huge one is refused
    at once; no recursion."""
    stack: list[tuple[object, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            stack.extend((item, f"{path}.{key}" if path else str(key)) for key, item in node.items())
        elif isinstance(node, list):
            if len(node) > max_items:
                return path, len(node)
            stack.extend((item, f"{path}[{index}]") for index, item in enumerate(node))
    return None
