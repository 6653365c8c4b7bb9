"""What the course reads from documentation's ``session-completed`` (as documentation's own translators write it):
the infusion given, with its order, dose and start, or none; a message without the visit is refused naming it."""
from __future__ import annotations

import pytest

from services.documentation.domain import session as documentation_session
from services.documentation.translators.message_out import session_completed_focus
from services.orders.course.translators.session_completed_in import completed_session
from shared.errors import FhirMappingError
from tests.unit.documentation import builders as doc

ORDER = doc.make_order(order_id="ord-1")


def test_a_discharged_session_gives_the_infusion_with_its_order_dose_and_start():
    session = completed_session(session_completed_focus(doc.discharged(ORDER), ORDER))
    assert (session.session_id, session.patient_id, session.procedure_status) == ("ord-1-1", "pat-42", "completed")
    assert session.infusion is not None
    assert (session.infusion.order_id, session.infusion.given_at, session.infusion.stopped_early) == (
        "ord-1", doc.at(9, 10), False)
    assert session.infusion.dose_mg == pytest.approx(40.0)


def test_an_infusion_aborted_after_it_began_is_given_and_stopped_early():
    aborted = documentation_session.abort(doc.infusing(ORDER), "emergence reaction", doc.NURSE, doc.at(9, 30))
    aborted = documentation_session.record_administration(aborted, ORDER, doc.administration(
        stopped_at=doc.at(9, 30), dose_discrepancy_reason="stopped for an emergence reaction"), doc.SETTINGS)
    session = completed_session(session_completed_focus(aborted, ORDER))
    assert session.infusion is not None and session.infusion.stopped_early
    assert session.procedure_status == "stopped"


def test_a_rescue_medication_is_not_taken_for_the_infusion():
    """Issue 13: a rescue medication is its own MedicationAdministration (no ``request``); aborted before the
    administration record, the course sees no infusion rather than refusing the message."""
    from services.documentation.domain.flowsheet import AlertAction, AlertActionKind
    from services.documentation.domain.rescue import RescueDoseUnit, RescueMedication, RescueRoute

    alerted = documentation_session.record_vitals(doc.infusing(ORDER), doc.reading("r-0930", doc.at(9, 30), 186, 104),
                                                  doc.SETTINGS)
    ondansetron = RescueMedication("ondansetron", 4, RescueDoseUnit.MILLIGRAM, RescueRoute.INTRAVENOUS)
    treated = documentation_session.record_action(alerted, "r-0930-alert", AlertAction(
        AlertActionKind.MEDICATION_GIVEN, doc.NURSE, doc.at(9, 31), rescue=ondansetron))
    aborted = documentation_session.abort(treated, "patient unwell", doc.NURSE, doc.at(9, 35))
    focus = session_completed_focus(aborted, ORDER)
    assert [r["resourceType"] for r in focus].count("MedicationAdministration") == 1
    assert completed_session(focus).infusion is None


def test_a_deferred_session_gives_no_infusion():
    deferred = documentation_session.defer(doc.checked_in(ORDER), "BP 182/112", doc.NURSE, doc.at(9, 20))
    session = completed_session(session_completed_focus(deferred, ORDER))
    assert session.infusion is None and session.procedure_status == "not-done"


def test_a_message_without_the_visit_is_refused_naming_it():
    focus = [r for r in session_completed_focus(doc.discharged(ORDER), ORDER) if r["resourceType"] != "Encounter"]
    with pytest.raises(FhirMappingError) as refused:
        completed_session(focus)
    assert refused.value.field == "Bundle.entry"
