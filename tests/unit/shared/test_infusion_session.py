"""Documentation's ``session-completed`` (as documentation's own translators write it) as orders and the course read
it: the session's order and infusion number, the infusion given and when, or that it never began."""
from __future__ import annotations

import pytest

from services.documentation.domain import session as documentation_session
from services.documentation.translators.message_out import session_completed_focus
from shared.fhir.infusion_session import infusion_session_end
from shared.errors import FhirMappingError
from tests.unit.documentation import builders as doc

ORDER = doc.make_order(order_id="ord-1")


def test_a_discharged_session_names_its_order_infusion_and_start():
    session = infusion_session_end(session_completed_focus(doc.discharged(ORDER), ORDER))
    assert (session.session_id, session.patient_id, session.order_id) == ("ord-1-1", "pat-42", "ord-1")
    assert session.infusion is not None and session.infusion.given_at == doc.at(9, 10)
    assert not session.never_started
    assert session.infusion_number("ord-1") == 1 and session.infusion_number("ord-2") is None


def test_an_infusion_aborted_after_it_began_was_given():
    aborted = documentation_session.abort(doc.infusing(ORDER), "emergence reaction", doc.NURSE, doc.at(9, 30))
    aborted = documentation_session.record_administration(aborted, ORDER, doc.administration(
        stopped_at=doc.at(9, 30), dose_discrepancy_reason="stopped for an emergence reaction"), doc.SETTINGS)
    session = infusion_session_end(session_completed_focus(aborted, ORDER))
    assert session.infusion is not None and not session.never_started


def test_a_deferred_session_never_started_and_names_its_order_by_the_session():
    deferred = documentation_session.defer(doc.checked_in(ORDER), "BP 182/112", doc.NURSE, doc.at(9, 20))
    session = infusion_session_end(session_completed_focus(deferred, ORDER))
    assert session.infusion is None and session.never_started
    assert session.order_id == "ord-1" and session.infusion_number("ord-1") == 1


def test_a_message_without_the_visit_is_refused_naming_it():
    focus = [r for r in session_completed_focus(doc.discharged(ORDER), ORDER) if r["resourceType"] != "Encounter"]
    with pytest.raises(FhirMappingError) as refused:
        infusion_session_end(focus)
    assert refused.value.field == "Bundle.entry"
