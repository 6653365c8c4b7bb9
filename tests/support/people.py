"""Walk what a service writes to the EHR and find every person element that carries no literal ``reference``
(``shared/people.py``: every author, signer, performer, requester, recorder, owner and witness is a reference)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

#: FHIR R4 elements that name who did something (a Reference, a list of them, or a list of ``{actor: Reference}``).
PERSON_ELEMENTS = frozenset({"author", "authenticator", "performer", "requester", "recorder", "owner", "asserter",
                             "who", "actor", "enterer", "witness", "informationSource", "onBehalfOf"})

Allowed = Callable[[str, dict[str, Any]], bool]


def people_without_reference(resources: Iterable[dict[str, Any]], allowed: Allowed = lambda path, ref: False,
                             ) -> list[str]:
    """The paths (``MedicationRequest.requester``) of person elements with no ``reference``; ``allowed(path,
    reference)`` says which display-only ones are right (e.g. the patient's own representative)."""
    found: list[str] = []
    for resource in resources:
        _walk(resource, str(resource.get("resourceType", "?")), found, allowed)
    return found


def person_elements(resources: Iterable[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Every person element (path, Reference) found, to prove the walk saw some."""
    seen: list[tuple[str, dict[str, Any]]] = []
    for resource in resources:
        _walk(resource, str(resource.get("resourceType", "?")), [], lambda path, ref: seen.append((path, ref)) or True)
    return seen


def _walk(node: Any, path: str, found: list[str], allowed: Allowed) -> None:
    if isinstance(node, list):
        for index, item in enumerate(node):
            _walk(item, f"{path}[{index}]", found, allowed)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        here = f"{path}.{key}"
        if key in PERSON_ELEMENTS:
            for index, item in enumerate(value if isinstance(value, list) else [value]):
                where = here if not isinstance(value, list) else f"{here}[{index}]"
                if isinstance(item, dict) and "actor" in item:  # performer as {function, actor}
                    item, where = item["actor"], f"{where}.actor"
                if isinstance(item, dict) and not _is_reference_shaped(item):
                    _walk(item, where, found, allowed)  # not a Reference (e.g. Provenance.agent holds who)
                    continue
                if isinstance(item, dict) and not item.get("reference") and not allowed(where, item):
                    found.append(where)
                elif isinstance(item, dict) and item.get("reference"):
                    allowed(where, item)  # lets person_elements see the good ones too
            continue
        _walk(value, here, found, allowed)


def _is_reference_shaped(item: dict[str, Any]) -> bool:
    return bool(set(item) & {"reference", "display", "identifier", "type"}) and not set(item) - {
        "reference", "display", "identifier", "type", "extension", "id"}


def as_plain_names(node: Any) -> Any:
    """A stored document as it was before people were references: each ``{reference, display}`` a plain name, to
    prove records stored then still load."""
    if isinstance(node, dict):
        if set(node) == {"reference", "display"}:
            return node["display"]
        return {key: as_plain_names(value) for key, value in node.items()}
    if isinstance(node, list):
        return [as_plain_names(item) for item in node]
    return node
