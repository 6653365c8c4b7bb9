"""Issue 13 defect 19 (a charted rate change reaches the administration record and the dose given; given versus
ordered is reviewed before discharge) and coded rescue actions (a medication given is its own
MedicationAdministration)."""
import pytest

from services.documentation.domain import session as s
from services.documentation.domain.administration import AdministrationRecord
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.flowsheet import AlertAction, AlertActionKind
from services.documentation.domain.pump import PumpChange, PumpChangeKind
from services.documentation.domain.rescue import RescueDoseUnit, RescueMedication, RescueRoute
from services.documentation.translators.flag_alert_out import alert_flag
from services.documentation.translators.medication_administration_out import medication_administration_from_session
from services.documentation.translators.medication_administration_rescue_out import rescue_administration

from .builders import DOCTOR, NURSE, SETTINGS, administration, at, infusing, make_order, reading

ORDER = make_order()  # 40 mg in 50 mL at 75 mL/h (0.8 mg/mL), 09:10-09:50


def alerted():
    return s.record_vitals(infusing(ORDER), reading("r-0930", at(9, 30), 184, 100), SETTINGS)


def reduced_at_0930():
    return s.record_action(alerted(), "r-0930-alert", AlertAction(
        AlertActionKind.RATE_REDUCED, NURSE, at(9, 30), "BP 184/100", rate_ml_per_h=37.5))


def test_a_rate_reduction_charted_as_an_alert_action_is_a_pump_change():
    session = reduced_at_0930()
    (change,) = session.pump_changes
    assert (change.kind, change.at, change.rate_ml_per_h, change.alert_id) == (
        PumpChangeKind.RATE_CHANGE, at(9, 30), 37.5, "r-0930-alert")
    with pytest.raises(DocumentationInputError) as error:
        s.record_action(alerted(), "r-0930-alert", AlertAction(AlertActionKind.RATE_REDUCED, NURSE, at(9, 31)))
    assert error.value.field == "action.rate_ml_per_h"


def test_the_administration_record_takes_the_charted_rate_change_and_computes_the_dose_from_it():
    session = s.end_infusion(reduced_at_0930(), NURSE, at(9, 50))
    charted = session.charted_infusion(ORDER, at(9, 50))
    assert [(c.at, c.rate_ml_per_h) for c in charted.rate_changes] == [(at(9, 10), 75.0), (at(9, 30), 37.5)]
    record = AdministrationRecord(started_at=at(9, 10), stopped_at=at(9, 50), rate_changes=charted.rate_changes,
                                  lot_number="KET-2291", lot_expiry=administration().lot_expiry, recorded_by=NURSE,
                                  dose_discrepancy_reason="rate halved for BP 184/100")
    recorded = s.record_administration(session, ORDER, record, SETTINGS).administration
    # 75 mL/h x 20 min = 25 mL + 37.5 mL/h x 20 min = 12.5 mL → 37.5 mL x 0.8 mg/mL = 30 mg, not the 40 ordered
    assert recorded.total_ml == pytest.approx(37.5) and recorded.total_mg == pytest.approx(30.0)
    assert recorded.dose_deviation_percent == pytest.approx(-25.0)


def test_a_record_that_leaves_out_a_charted_change_is_refused_naming_it():
    session = s.end_infusion(reduced_at_0930(), NURSE, at(9, 50))
    with pytest.raises(DocumentationInputError) as error:
        s.record_administration(session, ORDER, administration(), SETTINGS)  # one 75 mL/h rate throughout
    assert error.value.field == "rate_changes"
    assert "rate change to 37.5 mL/h charted at 2026-03-02T09:30+01:00 is not in the record" in error.value.message


def test_pauses_charted_on_the_flowsheet_flow_into_the_segments():
    session = infusing(ORDER)
    session = s.record_pump_change(session, PumpChange("p1", PumpChangeKind.PAUSE, at(9, 20), NURSE, reason="nausea"))
    with pytest.raises(DocumentationInputError, match="already paused"):
        s.record_pump_change(session, PumpChange("p2", PumpChangeKind.PAUSE, at(9, 21), NURSE, reason="again"))
    session = s.record_pump_change(session, PumpChange("p3", PumpChangeKind.RESUME, at(9, 30), NURSE))
    session = s.end_infusion(session, NURSE, at(9, 50))
    charted = session.charted_infusion(ORDER, at(9, 50))
    assert [(p.paused_at, p.resumed_at) for p in charted.pauses] == [(at(9, 20), at(9, 30))]
    record = administration(pauses=charted.pauses, dose_discrepancy_reason="paused 10 min for nausea")
    given = s.record_administration(session, ORDER, record, SETTINGS).administration
    assert given.total_mg == pytest.approx(30.0)  # 30 min at 75 mL/h = 37.5 mL


def test_discharge_waits_for_the_review_of_given_versus_ordered_and_a_new_record_withdraws_it():
    from .builders import assessment, ready_for_discharge

    session = ready_for_discharge(ORDER)
    unreviewed = s.record_administration(session, ORDER, administration(lot_number="KET-9999"), SETTINGS)
    assert unreviewed.administration_review is not None  # same totals: the review stands
    corrected = s.record_administration(session, ORDER, administration(
        stopped_at=at(9, 40), dose_discrepancy_reason="stopped early"), SETTINGS)
    assert corrected.administration_review is None
    with pytest.raises(TransitionNotAllowed) as error:
        s.discharge(corrected, assessment(), SETTINGS, NURSE, at(10, 25), override_reason="fine")
    assert error.value.failing == ("given versus ordered not reviewed: review the administration record",)
    with pytest.raises(DocumentationInputError) as error:
        s.review_given_against_ordered(corrected, DOCTOR, at(10, 1), "", SETTINGS)  # 30 mg vs 40: say why
    assert error.value.field == "comment"
    reviewed = s.review_given_against_ordered(corrected, DOCTOR, at(10, 1), "accepted: stopped for BP", SETTINGS)
    assert (reviewed.administration_review.reviewed_by, reviewed.administration_review.given_mg) == (DOCTOR, 30.0)
    assert s.discharge(reviewed, assessment(), SETTINGS, NURSE, at(10, 25)).status is s.SessionStatus.DISCHARGED


def test_a_medication_given_is_coded_and_becomes_its_own_medication_administration():
    labetalol = RescueMedication("labetalol", 10, RescueDoseUnit.MILLIGRAM, RescueRoute.INTRAVENOUS,
                                 "http://www.nlm.nih.gov/research/umls/rxnorm", "6185")
    session = s.record_action(alerted(), "r-0930-alert", AlertAction(
        AlertActionKind.MEDICATION_GIVEN, DOCTOR, at(9, 32), rescue=labetalol))
    alert = session.alerts[0]
    given = rescue_administration(session.session_id, session.patient_id, alert)
    assert given["medicationCodeableConcept"]["text"] == "labetalol"
    assert given["dosage"]["dose"] == {"value": 10, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}
    assert given["dosage"]["route"]["coding"][0]["code"] == "47625008"
    assert given["performer"][0]["actor"] == DOCTOR.fhir_reference()
    assert given["effectiveDateTime"].startswith("2026-03-02T09:32")
    flag = alert_flag(session.session_id, session.patient_id, alert)
    action = flag["extension"][0]["valueCodeableConcept"]
    assert action["coding"][0]["code"] == "alert-action-medication-given"
    with pytest.raises(DocumentationInputError) as error:
        s.record_action(alerted(), "r-0930-alert", AlertAction(AlertActionKind.MEDICATION_GIVEN, DOCTOR, at(9, 32),
                                                               "labetalol 10 mg"))
    assert error.value.field == "action.rescue"
    with pytest.raises(DocumentationInputError) as error:
        RescueMedication("x", 1e308, RescueDoseUnit.MILLIGRAM, RescueRoute.ORAL)
    assert error.value.field == "dose_value"


def test_the_medication_administration_sent_carries_the_computed_dose():
    session = s.end_infusion(reduced_at_0930(), NURSE, at(9, 50))
    charted = session.charted_infusion(ORDER, at(9, 50))
    session = s.record_administration(session, ORDER, administration(
        rate_changes=charted.rate_changes, dose_discrepancy_reason="rate halved"), SETTINGS)
    session = s.abort(session, "BP", NURSE, at(10, 0))
    resource = medication_administration_from_session(session, ORDER)
    assert resource["dosage"]["dose"]["value"] == 30.0
    assert "37.5 mL/h from 2026-03-02T09:30" in resource["dosage"]["text"]
