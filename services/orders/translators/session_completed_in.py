"""Documentation's ``session-completed`` focus → how the session ended, for marking its series infusion
(docs/contracts.md, "session-completed"): the Encounter's ``infusion-session`` identifier is the session id
(``{order id}-{infusion number}``), the Procedure's ``status`` says whether the infusion began (``not-done``: never
started), and the infusion's MedicationAdministration (the one naming the order by ``request``; a rescue
medication's does not) gives the order and when it started. Errors name the element (FhirMappingError)."""
from __future__ import annotations

from typing import Any

from shared.fhir.codes import KIND_ORDER
from shared.fhir.reading import moment, patient_id_of, referenced_identifier, validated
from shared.errors import FhirMappingError
from shared.fhir.datatypes import find_identifier
from services.orders.domain.session_outcome import GivenInfusion, SessionOutcome

KIND_INFUSION_SESSION = "infusion-session"  # documentation's Encounter identifier kind
PROCEDURE_NOT_STARTED = "not-done"


def session_outcome(resources: list[dict[str, Any]]) -> SessionOutcome:
    encounters = [r for r in resources if r.get("resourceType") == "Encounter"]
    if len(encounters) != 1:
        raise FhirMappingError("Bundle.entry", f"expected one Encounter, found {len(encounters)}")
    encounter = validated(encounters[0], "Encounter")
    session_id = find_identifier(encounter, KIND_INFUSION_SESSION)
    if not session_id:
        raise FhirMappingError("Encounter.identifier", "the infusion-session identifier is missing")
    patient_id = patient_id_of(encounter.get("subject"), "Encounter.subject")
    procedure = next((r for r in resources if r.get("resourceType") == "Procedure"), None)
    administration = next((r for r in resources if r.get("resourceType") == "MedicationAdministration"
                           and r.get("request")), None)
    infusion = _given(validated(administration, "MedicationAdministration")) if administration else None
    status = validated(procedure, "Procedure").get("status") if procedure else None
    return SessionOutcome(session_id, patient_id, infusion,
                          never_started=infusion is None and status == PROCEDURE_NOT_STARTED)


def _given(resource: dict[str, Any]) -> GivenInfusion:
    order_id = referenced_identifier([resource.get("request") or {}], KIND_ORDER)
    if not order_id:
        raise FhirMappingError("MedicationAdministration.request", "the order (by its Ketalink identifier) is "
                                                                   "required")
    started = (resource.get("effectivePeriod") or {}).get("start") or resource.get("effectiveDateTime")
    return GivenInfusion(order_id, moment(started, "MedicationAdministration.effectivePeriod.start"))
