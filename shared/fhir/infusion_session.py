"""Documentation's ``session-completed`` focus as every consumer reads it (docs/contracts.md, "session-completed"):
the orders service marks the session's series infusion from it, the treatment course records the infusion given.

The Encounter's identifier ``infusion-session`` is the session id (``{order id}-{infusion number}`` by
documentation's convention, so the series' infusion is known); the Procedure ``status`` says whether the infusion
began (``not-done``: never started); the infusion's MedicationAdministration (the one naming the order by
``request``: a rescue medication's does not) gives the order, when it started (``effectivePeriod.start``), the mg
given (``dosage.dose``) and whether it was stopped early (``status: stopped``). Errors name the element
(FhirMappingError)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.errors import FhirMappingError
from shared.fhir.codes import KIND_ORDER
from shared.fhir.datatypes import find_identifier, read_quantity
from shared.fhir.reading import moment, patient_id_of, referenced_identifier, the_only, validated

KIND_INFUSION_SESSION = "infusion-session"  # documentation's Encounter identifier kind
PROCEDURE_NOT_STARTED = "not-done"


@dataclass(frozen=True)
class GivenInfusion:
    """The session's infusion administration."""

    order_id: str
    given_at: datetime
    dose_mg: float
    stopped_early: bool


@dataclass(frozen=True)
class InfusionSessionEnd:
    session_id: str
    patient_id: str
    procedure_status: str | None  # completed, stopped, not-done ... (None when the message has no Procedure)
    infusion: GivenInfusion | None  # None: no administration recorded (deferred, aborted before it began ...)

    @property
    def never_started(self) -> bool:
        return self.infusion is None and self.procedure_status == PROCEDURE_NOT_STARTED

    @property
    def order_id(self) -> str | None:
        """The order of the series infusion: the administration's, else (a session that never began) the session
        id's; None when there is nothing to mark yet (stopped without an administration record: documentation
        sends the session again with it)."""
        if self.infusion is not None:
            return self.infusion.order_id
        if self.never_started:
            return self.session_id.rpartition("-")[0]
        return None

    def infusion_number(self, order_id: str) -> int | None:
        """The series infusion this session is for, from documentation's session id ``{order id}-{number}``."""
        prefix = f"{order_id}-"
        number = self.session_id.removeprefix(prefix)
        return int(number) if self.session_id.startswith(prefix) and number.isdigit() else None


def infusion_session_end(resources: list[dict[str, Any]]) -> InfusionSessionEnd:
    encounter = the_only(resources, "Encounter")
    session_id = find_identifier(encounter, KIND_INFUSION_SESSION)
    if not session_id:
        raise FhirMappingError("Encounter.identifier", "the infusion-session identifier is missing")
    patient_id = patient_id_of(encounter.get("subject"), "Encounter.subject")
    procedure = next((r for r in resources if r.get("resourceType") == "Procedure"), None)
    administration = next((r for r in resources if r.get("resourceType") == "MedicationAdministration"
                           and r.get("request")), None)
    return InfusionSessionEnd(
        session_id=session_id,
        patient_id=patient_id,
        procedure_status=validated(procedure, "Procedure").get("status") if procedure else None,
        infusion=_given(validated(administration, "MedicationAdministration"), patient_id) if administration else None,
    )


def _given(resource: dict[str, Any], patient_id: str) -> GivenInfusion:
    if patient_id_of(resource.get("subject"), "MedicationAdministration.subject") != patient_id:
        raise FhirMappingError("MedicationAdministration.subject", "another patient than the session's")
    order_id = referenced_identifier([resource.get("request") or {}], KIND_ORDER)
    if not order_id:
        raise FhirMappingError("MedicationAdministration.request", "the order (by its Ketalink identifier) is "
                                                                   "required")
    try:
        dose_mg = read_quantity((resource.get("dosage") or {}).get("dose"), "mg")
    except ValueError as error:
        raise FhirMappingError("MedicationAdministration.dosage.dose", str(error)) from None
    if dose_mg is None or dose_mg <= 0:
        raise FhirMappingError("MedicationAdministration.dosage.dose", "the mg given (above 0) is required")
    started = (resource.get("effectivePeriod") or {}).get("start") or resource.get("effectiveDateTime")
    return GivenInfusion(order_id, moment(started, "MedicationAdministration.effectivePeriod.start"), dose_mg,
                         resource.get("status") == "stopped")
