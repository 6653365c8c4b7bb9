import pytest

from services.documentation.domain import session as s
from services.documentation.domain.adverse_events import (
    AdverseEventKind,
    AdverseEventOutcome,
    AdverseEventRecord,
    Severity,
)
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed

from .builders import NURSE, at, discharged, infusing


def nausea(**changes):
    values = dict(
        event_id="ae-1",
        kind=AdverseEventKind.NAUSEA,
        severity=Severity.MODERATE,
        outcome=AdverseEventOutcome.ONGOING,
        onset_at=at(9, 35),
        recorded_by=NURSE,
        action_taken="ondansetron 4 mg IV",
    )
    values.update(changes)
    return AdverseEventRecord(**values)


def test_adverse_event_is_recorded_then_its_outcome_updated():
    session = s.record_adverse_event(infusing(), nausea())
    session = s.record_adverse_event(session, nausea(outcome=AdverseEventOutcome.RESOLVED))
    assert len(session.adverse_events) == 1
    assert session.adverse_events[0].outcome is AdverseEventOutcome.RESOLVED
    session = s.record_adverse_event(
        session, nausea(event_id="ae-2", kind=AdverseEventKind.HEADACHE, severity=Severity.MILD)
    )
    assert [e.label() for e in session.adverse_events] == ["nausea", "headache"]


def test_other_needs_a_description_and_uses_it_as_label():
    with pytest.raises(DocumentationInputError) as error:
        nausea(kind=AdverseEventKind.OTHER)
    assert error.value.field == "description"
    assert nausea(kind=AdverseEventKind.OTHER, description="blurred vision").label() == "blurred vision"


def test_adverse_events_are_refused_after_discharge():
    with pytest.raises(TransitionNotAllowed):
        s.record_adverse_event(discharged(), nausea())


def test_adverse_event_after_an_abort_is_still_documented():
    aborted = s.abort(infusing(), "emergence reaction", NURSE, at(9, 30))
    event = nausea(kind=AdverseEventKind.EMERGENCE_REACTION, severity=Severity.SEVERE, serious=True)
    assert s.record_adverse_event(aborted, event).adverse_events == (event,)
