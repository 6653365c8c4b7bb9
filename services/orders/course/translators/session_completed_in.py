"""Documentation's ``session-completed`` focus → what the course takes from an ended infusion session: the infusion
given (or none) and its adverse events.

Read (docs/contracts.md, "session-completed"): the Encounter's identifier ``infusion-session`` is the session id;
the Procedure ``status`` says how the session ended; the MedicationAdministration, when there
is one, gives the order (``request`` by identifier ``order``), when it started (``effectivePeriod.start``), the mg
given (``dosage.dose``) and whether it was stopped early (``status: stopped``). Each AdverseEvent gives its kind from
the documentation's ``ae-*`` code, severity, seriousness and onset; its identifier value (``{session}/{event}``) keys
it. Vitals, CADSS, Flags are not the course's concern; the series infusion the session marks is the orders
service's (``services/orders/translators/session_completed_in.py``). Errors name the element (FhirMappingError)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.orders.course.domain.model import AdverseEventSeverity, CourseAdverseEvent
from services.orders.course.translators.codes import KIND_INFUSION_SESSION, KIND_ORDER_REQUEST
from services.orders.course.translators.common import FhirJson
from shared.errors import FhirMappingError
from shared.fhir.reading import moment, patient_id_of, referenced_identifier, validated
from shared.fhir.codes import KETALINK_LOCAL, identifier_system
from shared.fhir.datatypes import find_identifier, read_quantity

KIND_ADVERSE_EVENT = "adverse-event"  # documentation's AdverseEvent identifier kind
ADVERSE_EVENT_CODE_PREFIX = "ae-"
ADVERSE_EVENT_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
ADVERSE_EVENT_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"


@dataclass(frozen=True)
class GivenInfusion:
    order_id: str
    given_at: datetime
    dose_mg: float
    stopped_early: bool


@dataclass(frozen=True)
class CompletedSession:
    session_id: str
    patient_id: str
    procedure_status: str | None  # completed, stopped, not-done ... (None when the message has no Procedure)
    infusion: GivenInfusion | None  # None: no administration recorded (deferred, aborted before it began ...)
    adverse_events: tuple[CourseAdverseEvent, ...]


def completed_session(resources: list[FhirJson]) -> CompletedSession:
    encounter = _one(resources, "Encounter")
    session_id = find_identifier(encounter, KIND_INFUSION_SESSION)
    if not session_id:
        raise FhirMappingError("Encounter.identifier", "the infusion-session identifier is missing")
    patient_id = patient_id_of(encounter.get("subject"), "Encounter.subject")
    procedure = next((r for r in resources if r.get("resourceType") == "Procedure"), None)
    # The infusion's MedicationAdministration names the order (``request``); a rescue medication's does not.
    administration = next((r for r in resources if r.get("resourceType") == "MedicationAdministration"
                           and r.get("request")), None)
    events = tuple(_adverse_event(validated(r, "AdverseEvent"), session_id, index)
                   for index, r in enumerate(r for r in resources if r.get("resourceType") == "AdverseEvent"))
    return CompletedSession(
        session_id=session_id,
        patient_id=patient_id,
        procedure_status=validated(procedure, "Procedure").get("status") if procedure else None,
        infusion=_given(validated(administration, "MedicationAdministration"), patient_id) if administration else None,
        adverse_events=events,
    )


def _one(resources: list[FhirJson], resource_type: str) -> FhirJson:
    found = [r for r in resources if r.get("resourceType") == resource_type]
    if len(found) != 1:
        raise FhirMappingError("Bundle.entry", f"expected one {resource_type}, found {len(found)}")
    return validated(found[0], resource_type)


def _given(resource: FhirJson, patient_id: str) -> GivenInfusion:
    if patient_id_of(resource.get("subject"), "MedicationAdministration.subject") != patient_id:
        raise FhirMappingError("MedicationAdministration.subject", "another patient than the session's")
    order_id = referenced_identifier([resource.get("request") or {}], KIND_ORDER_REQUEST)
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


def _adverse_event(resource: FhirJson, session_id: str, index: int) -> CourseAdverseEvent:
    path = f"AdverseEvent[{index}]"
    ident = resource.get("identifier") or {}
    if ident.get("system") != identifier_system(KIND_ADVERSE_EVENT) or not ident.get("value"):
        raise FhirMappingError(f"{path}.identifier", "the adverse-event identifier is missing")
    kind = next((c.get("code", "").removeprefix(ADVERSE_EVENT_CODE_PREFIX)
                 for c in (resource.get("event") or {}).get("coding") or []
                 if c.get("system") == KETALINK_LOCAL and str(c.get("code", "")).startswith(ADVERSE_EVENT_CODE_PREFIX)),
                None)
    if not kind:
        raise FhirMappingError(f"{path}.event", "expected a Ketalink ae-* code")
    severity_code = _code(resource.get("severity"), ADVERSE_EVENT_SEVERITY)
    try:
        severity = AdverseEventSeverity(severity_code)
    except ValueError:
        raise FhirMappingError(f"{path}.severity", f"{severity_code!r} is not mild, moderate or severe") from None
    return CourseAdverseEvent(
        event_id=ident["value"],
        session_id=session_id,
        kind=kind,
        severity=severity,
        onset_at=moment(resource.get("date"), f"{path}.date"),
        serious=_code(resource.get("seriousness"), ADVERSE_EVENT_SERIOUSNESS) == "serious",
    )


def _code(concept: FhirJson | None, system: str) -> str | None:
    return next((c.get("code") for c in (concept or {}).get("coding") or [] if c.get("system") == system), None)
