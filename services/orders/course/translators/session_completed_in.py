"""Documentation's ``session-completed`` focus → what the course takes from an ended infusion session: the infusion
given (or none) and its adverse events.

The session, its patient, how the Procedure ended and the infusion given (order, start, mg, stopped early) are read
as every consumer reads them (``shared/fhir/infusion_session.py``; the orders service marks the series infusion from
the same). Each AdverseEvent gives its kind from the documentation's ``ae-*`` code, severity, seriousness and onset;
its identifier value (``{session}/{event}``) keys it. Vitals, CADSS, Flags are not the course's concern. Errors name
the element (FhirMappingError)."""
from __future__ import annotations

from dataclasses import dataclass

from services.orders.course.domain.model import AdverseEventSeverity, CourseAdverseEvent
from services.orders.course.translators.common import FhirJson
from shared.errors import FhirMappingError
from shared.fhir.codes import KETALINK_LOCAL, identifier_system
from shared.fhir.infusion_session import InfusionSessionEnd, infusion_session_end
from shared.fhir.reading import moment, validated

KIND_ADVERSE_EVENT = "adverse-event"  # documentation's AdverseEvent identifier kind
ADVERSE_EVENT_CODE_PREFIX = "ae-"
ADVERSE_EVENT_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
ADVERSE_EVENT_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"


@dataclass(frozen=True)
class CompletedSession(InfusionSessionEnd):
    """The ended session with its adverse events."""

    adverse_events: tuple[CourseAdverseEvent, ...] = ()


def completed_session(resources: list[FhirJson]) -> CompletedSession:
    """The session as every consumer reads it (``shared.fhir.infusion_session``) with its adverse events."""
    ended = infusion_session_end(resources)
    events = tuple(_adverse_event(validated(r, "AdverseEvent"), ended.session_id, index)
                   for index, r in enumerate(r for r in resources if r.get("resourceType") == "AdverseEvent"))
    return CompletedSession(**vars(ended), adverse_events=events)


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
