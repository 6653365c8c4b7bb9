"""CDS Hooks prefetch templates filled from a hook's context (CDS Hooks 2.0 "Prefetch tokens"), one filler for the
CDS service (reading what the EHR left out) and the sandbox EHR's CDS client (prefetching), so both fill a template
the same way.

A token without a value (no encounter in the context, a user who is not a Practitioner) leaves the template
unfilled (None): the EHR then sends no prefetch for that key and the service reads it itself; a query with an
empty value would search for something else."""
from __future__ import annotations

import re
from collections.abc import Mapping

TOKEN = re.compile(r"\{\{\s*([A-Za-z.]+)\s*\}\}")
#: How many pages of a list search (the problem list, orders, decisions) are read at most, by the CDS service for a
#: key the EHR left out and by the sandbox EHR when it prefetches: a list is read whole (a contraindication on a
#: second page is still the patient's), but an EHR whose next links go on past this cannot be read in the time a
#: hook has (the service refuses the check, 412, rather than make it on part of the list).
MAX_LIST_PAGES = 20
#: The user tokens the spec defines, by the resource type of ``context.userId``.
USER_TOKENS = {"Practitioner": "userPractitionerId", "PractitionerRole": "userPractitionerRoleId",
               "Patient": "userPatientId", "RelatedPerson": "userRelatedPersonId"}


def hook_tokens(patient_id: str, user_reference: str, encounter_id: str | None = None) -> dict[str, str]:
    """The token values of a hook call: the context's ids, and the user's id under the token of its type."""
    tokens = {"context.patientId": patient_id, "context.userId": user_reference}
    if encounter_id:
        tokens["context.encounterId"] = encounter_id
    kind, _, user_id = user_reference.partition("/")
    if kind in USER_TOKENS and user_id:
        tokens[USER_TOKENS[kind]] = user_id
    return tokens


def fill_template(template: str, tokens: Mapping[str, str]) -> str | None:
    """``template`` with every ``{{token}}`` replaced; None when one has no value (the key is left out)."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        found = tokens.get(match.group(1))
        if not found:
            missing = True
            return ""
        return found

    filled = TOKEN.sub(value, template)
    return None if missing else filled


def is_latest_one(params: Mapping[str, str]) -> bool:
    """A search for "the latest one" (``_sort=-date&_count=1``) is read as its first page only, never the whole
    history; any other search is a list, read over its pages."""
    return "_count" in params
