"""What the course reads from other services' messages: documentation's ``session-completed`` (as documentation's
own translators write it) and the intake's baseline QuestionnaireResponses; plus the domain steps the glue relies on
(a further series linked, the first induction counting every induction infusion)."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from services.documentation.domain import session as documentation_session
from services.documentation.translators.message_out import session_completed_focus
from services.intake.domain.scales import Phq9Response
from services.intake.translators.questionnaire_response_scales_out import phq9_questionnaire_response
from services.orders.course.domain.course import link_series, record_infusion, stop_course
from services.orders.course.domain.errors import CourseStateError
from services.orders.course.domain.model import StopReason
from services.orders.course.domain.settings import CourseSettings
from services.orders.course.translators.intake_baseline_in import baseline_scales
from services.orders.course.translators.session_completed_in import completed_session
from services.orders.domain.settings import ProtocolSettings
from shared.errors import FhirMappingError
from tests.unit.documentation import builders as doc
from tests.unit.orders.course.builders import CLINICIAN, START, new_course, protocol, settings

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


def test_the_intakes_baseline_is_read_and_an_unreadable_response_skipped():
    answered = START - timedelta(days=4)
    good = phq9_questionnaire_response(Phq9Response((2, 2, 2, 2, 2, 2, 2, 2, 0), answered), "patient-1", "intake-7")
    bad = {**good, "identifier": {**good["identifier"], "value": "intake-7-phq-9-bis"},
           "item": good["item"][:5]}
    other_patient = phq9_questionnaire_response(Phq9Response((1,) * 8 + (0,), answered), "patient-2", "intake-7")
    scales = baseline_scales([good, bad, other_patient], "patient-1", CourseSettings())
    [score] = scales.scores
    assert (score.measurement_id, score.total_score, score.context.value) == ("intake-7-phq-9", 16, "baseline")
    assert len(scales.unreadable) == 1 and "44258-2" in scales.unreadable[0]


def test_a_further_series_is_linked_once_and_never_to_a_stopped_course():
    course = new_course()
    linked = link_series(link_series(course, "series-2"), "series-2")
    assert linked.series_ids == ("series-1", "series-2")
    stopped = stop_course(course, StopReason.PATIENT_CHOICE, CLINICIAN, START)
    with pytest.raises(CourseStateError):
        link_series(stopped, "series-3")


def test_the_first_induction_counts_an_infusion_charted_before_the_course_started():
    course = new_course()
    early = record_infusion(course, session_id="s-0", given_at=course.started_at - timedelta(minutes=2),
                            dose_mg=40, settings=settings(), protocol=protocol())
    assert len(early.current_induction_infusions) == 1


def test_the_course_must_be_able_to_plan_every_induction_the_clinic_allows():
    with pytest.raises(ValueError, match="ORDERS_INDUCTION_MAX_INFUSIONS"):
        CourseSettings(induction_extension_max_infusions=7).validate_with(replace(ProtocolSettings(),
                                                                                  induction_infusion_count=6,
                                                                                  induction_max_infusions=8))
