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
