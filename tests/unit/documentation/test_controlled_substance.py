"""Issue 13, controlled-substance record: drawn = given + wasted, the waste witnessed by a second person (both
identities kept), required before the note is signed, a clinic day's reconciliation, and the FHIR shape."""
from datetime import date, timedelta, timezone

import pytest

from services.documentation.domain import session as s
from services.documentation.domain.controlled_substance import PersonIdentity
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.note import draft_note, edit_note, sign_note
from services.documentation.domain.reconciliation import reconcile_day
from services.documentation.translators.medication_administration_out import medication_administration_from_session
from services.documentation.translators.provenance_waste_witness_out import waste_witness_provenance

from .builders import (
    DOCTOR,
    NURSE,
    SETTINGS,
    administration,
    assessment,
    at,
    controlled_substance,
    discharged,
    make_order,
    ready_for_discharge,
)

ORDER = make_order()


def test_drawn_must_equal_given_plus_wasted():
    with pytest.raises(DocumentationInputError) as error:
        s.record_controlled_substance(discharged(), controlled_substance(wasted_mg=5.0), SETTINGS)
    assert error.value.field == "wasted_mg" and "5 mg unaccounted" in error.value.message


def test_given_is_the_administration_records_dose_and_the_lot_its_lot():
    with pytest.raises(DocumentationInputError) as error:
        s.record_controlled_substance(discharged(), controlled_substance(given_mg=45.0, wasted_mg=5.0), SETTINGS)
    assert error.value.field == "given_mg"
    with pytest.raises(DocumentationInputError) as error:
        s.record_controlled_substance(discharged(), controlled_substance(lot_number="KET-1"), SETTINGS)
    assert error.value.field == "lot_number"


def test_the_product_accounted_for_is_the_one_the_order_is_drawn_from():
    """A 100 mg/mL vial recorded against a 10 mg/mL order would balance the day's books while the vials do not."""
    with pytest.raises(DocumentationInputError) as error:
        s.record_controlled_substance(discharged(), controlled_substance(product="ketamine 100 mg/mL injection"),
                                      SETTINGS, ORDER)
    assert error.value.field == "product" and "ketamine 10 mg/mL injection" in error.value.message
    with pytest.raises(DocumentationInputError) as error:
        s.record_controlled_substance(discharged(), controlled_substance(product="ketamine injection"), SETTINGS, ORDER)
    assert error.value.field == "product"
    with pytest.raises(DocumentationInputError) as error:
        s.record_controlled_substance(discharged(), controlled_substance(product_code="238083"), SETTINGS, ORDER)
    assert error.value.field == "product_code"
    coded = make_order(product_strength_mg_per_ml=100.0, product_display="ketamine 100 mg/mL injection",
                       product_rxnorm_code="238083")
    with pytest.raises(DocumentationInputError) as error:
        s.record_controlled_substance(discharged(), controlled_substance(product="ketamine 10 mg/mL"), SETTINGS, coded)
    assert error.value.field == "product"
    recorded = s.record_controlled_substance(discharged(), controlled_substance(product="Ketamine HCl 10 MG/ML vial"),
                                             SETTINGS, ORDER)
    assert recorded.controlled_substance is not None


def test_the_witness_is_a_second_person_identified_by_reference_or_identifier():
    with pytest.raises(DocumentationInputError) as error:
        controlled_substance(witness=PersonIdentity(reference=NURSE.reference or ""))
    assert error.value.field == "witness.reference"
    with pytest.raises(DocumentationInputError) as error:
        controlled_substance(witness=PersonIdentity(identifier_system="http://hl7.org/fhir/sid/us-npi",
                                                    identifier_value="123", display=NURSE.display))
    assert error.value.field == "witness.display"
    with pytest.raises(DocumentationInputError):
        PersonIdentity()
    by_npi = controlled_substance(witness=PersonIdentity(identifier_system="http://hl7.org/fhir/sid/us-npi",
                                                         identifier_value="1234567893"))
    assert by_npi.witness.keys() == {"http://hl7.org/fhir/sid/us-npi|1234567893"}


def test_the_note_cannot_be_signed_without_the_controlled_substance_record():
    session = discharged()
    note = draft_note(session, ORDER, "note-1", DOCTOR, at(10, 40), settings=SETTINGS)
    assert "Controlled substance: NOT RECORDED" in note.text
    with pytest.raises(TransitionNotAllowed, match="controlled-substance record"):
        sign_note(note, DOCTOR, at(10, 45), session)
    recorded = s.record_controlled_substance(session, controlled_substance(), SETTINGS)
    # The draft made before the record says NOT RECORDED: signed as it is, the legal record would deny the record.
    with pytest.raises(TransitionNotAllowed, match="does not state the controlled-substance record") as refused:
        sign_note(note, DOCTOR, at(10, 45), recorded)
    assert "drawn 50 mg, given 40 mg, wasted 10 mg" in str(refused.value)
    text = draft_note(recorded, ORDER, "note-2", DOCTOR, at(10, 40)).text
    assert sign_note(edit_note(note, text), DOCTOR, at(10, 45), recorded).is_signed
    assert "  ketamine 10 mg/mL injection lot KET-2291 (expiry 2027-05-31): drawn 50 mg, given 40 mg, wasted 10 mg" \
        in text.splitlines()
    assert "by Dr Sam Okafor (Practitioner/dr-sam-okafor); recorded by RN Dana Hill (Practitioner/rn-dana-hill)" in text


def test_the_note_cannot_be_signed_when_the_administration_was_corrected_after_the_controlled_substance_record():
    """The record was checked when recorded; the administration corrected later (stopped at 09:30: 20 mg, not 40)
    left "given 40 mg" on paper and 20 mg unaccounted for under a signed note."""
    session = s.record_controlled_substance(ready_for_discharge(ORDER), controlled_substance(), SETTINGS, ORDER)
    session = s.record_administration(session, ORDER, administration(
        stopped_at=at(9, 30), dose_discrepancy_reason="stopped early for BP"), SETTINGS)
    session = s.review_given_against_ordered(session, NURSE, at(10, 10), "short dose", SETTINGS)
    session = s.discharge(session, assessment(), SETTINGS, NURSE, at(10, 25))
    note = draft_note(session, ORDER, "note-1", DOCTOR, at(10, 40), settings=SETTINGS)
    with pytest.raises(TransitionNotAllowed, match="no longer agrees with the administration record"):
        sign_note(note, DOCTOR, at(10, 45), session)
    corrected = s.record_controlled_substance(session, controlled_substance(given_mg=20.0, wasted_mg=30.0), SETTINGS)
    with pytest.raises(TransitionNotAllowed, match="does not state the controlled-substance record"):
        sign_note(note, DOCTOR, at(10, 45), corrected)  # the draft still says "given 40 mg"
    restated = edit_note(note, draft_note(corrected, ORDER, "note-2", DOCTOR, at(10, 40), settings=SETTINGS).text)
    assert sign_note(restated, DOCTOR, at(10, 45), corrected).is_signed


def test_the_record_cannot_be_changed_once_the_note_quoting_it_is_signed():
    """The docstring and README said "until the note is signed"; nothing kept it: a correction overwrote the signed
    legal record of a Schedule III drug with no trail."""
    recorded = s.record_controlled_substance(discharged(), controlled_substance(), SETTINGS)
    with pytest.raises(TransitionNotAllowed, match="note quoting the controlled-substance record is signed"):
        s.record_controlled_substance(recorded, controlled_substance(drawn_mg=40.0, wasted_mg=0.0), SETTINGS,
                                      note_signed=True)
    assert s.record_controlled_substance(recorded, controlled_substance(drawn_mg=40.0, wasted_mg=0.0), SETTINGS,
                                         note_signed=False).controlled_substance.drawn_mg == 40.0


def test_fhir_shape_amounts_on_the_administration_and_the_witness_in_a_provenance():
    session = s.record_controlled_substance(discharged(), controlled_substance(), SETTINGS)
    administration = medication_administration_from_session(session, ORDER)
    parts = {e["url"]: e for e in administration["extension"][0]["extension"]}
    assert parts["drawn"]["valueQuantity"]["value"] == 50.0 and parts["wasted"]["valueQuantity"]["value"] == 10.0
    provenance = waste_witness_provenance(session)
    assert [a["type"]["coding"][0]["code"] for a in provenance["agent"]] == ["performer", "WIT"]
    assert provenance["agent"][0]["who"] == NURSE.fhir_reference()  # by reference, as every person
    assert provenance["agent"][1]["who"] == DOCTOR.fhir_reference()
    assert provenance["target"][0]["identifier"]["value"] == session.session_id


def test_a_clinic_day_is_reconciled_per_product_and_lot_with_its_discrepancies():
    recorded = s.record_controlled_substance(discharged(), controlled_substance(), SETTINGS)
    missing = discharged(make_order(order_id="ord-2"))
    report = reconcile_day([recorded, missing], date(2026, 3, 2), timezone(timedelta(hours=1)))
    assert report.infusions == 2
    (lot,) = report.lots
    assert (lot.lot_number, lot.infusions, lot.drawn_mg, lot.given_mg, lot.wasted_mg) == ("KET-2291", 1, 50, 40, 10)
    assert [(d.session_id, d.problem) for d in report.discrepancies] == [
        ("ord-2-1", "no controlled-substance record for an infusion that was started")]
    assert reconcile_day([recorded], date(2026, 3, 3), timezone.utc).infusions == 0
    assert reconcile_day([recorded], date(2026, 3, 2), timezone.utc).to_dict()["reconciled"] is True
