"""Walking and changing a JSON document by path, for the tests that break a request body at every place in turn."""
from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

Path = tuple[Any, ...]


def json_paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every key and index path in ``value``, parents before children."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield prefix + (key,)
            yield from json_paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield prefix + (index,)
            yield from json_paths(item, prefix + (index,))


def changed_at(document: dict[str, Any], path: Path, value: Any, remove: bool = False) -> dict[str, Any]:
    """A deep copy of ``document`` with ``value`` at ``path`` (or the key removed, where the parent is an object)."""
    changed = copy.deepcopy(document)
    parent = changed
    for step in path[:-1]:
        parent = parent[step]
    if remove and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return changed
