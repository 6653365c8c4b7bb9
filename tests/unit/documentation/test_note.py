import json
from zoneinfo import ZoneInfo

import pytest

from services.documentation.domain import session as s
from services.documentation.domain.adverse_events import (
    AdverseEventKind,
    AdverseEventOutcome,
    AdverseEventRecord,
    Severity,
)
from services.documentation.domain.cadss import CadssAssessment, CadssForm, CadssNotRated
from services.documentation.domain.errors import DocumentationInputError, SignedNoteImmutable, TransitionNotAllowed
from services.documentation.domain.flowsheet import AlertAction, AlertActionKind
from services.documentation.domain.note import (
    NoteStatus,
    ProcedureNote,
    amend_note,
    draft_note,
    edit_note,
    sign_note,
)
from services.documentation.domain.note_text import generate_note

from shared.clinic_time import clinic_zone_context

from .builders import DOCTOR, NURSE, SETTINGS, administration, assessment, at, infusing, make_order, baseline, reading


@pytest.fixture(autouse=True)
def clinic_in_paris():
    """The note writes clinic time (shared/clinic_time.py); the builders' times are +01:00, Paris in March."""
    with clinic_zone_context(ZoneInfo("Europe/Paris")):
        yield


def documented_session(order):
    """Infusion with an alert at 09:40 (rate reduced), nausea treated, CADSS at 40 min, discharged 10:25."""
    session = infusing(order)
    session = s.record_vitals(session, reading("r-0925", at(9, 25), 150, 92, 88), SETTINGS)
    session = s.record_vitals(session, reading("r-0940", at(9, 40), 184, 104, 96, spo2=95.0), SETTINGS)
    session = s.record_action(
        session, "r-0940-alert", AlertAction(AlertActionKind.RATE_REDUCED, DOCTOR, at(9, 42), "75 → 50 mL/h",
                                                  rate_ml_per_h=50.0)
    )
    session = s.record_adverse_event(
        session,
        AdverseEventRecord(
            "ae-1",
            AdverseEventKind.NAUSEA,
            Severity.MODERATE,
            AdverseEventOutcome.RESOLVED,
            at(9, 35),
            NURSE,
            action_taken="ondansetron 4 mg IV",
        ),
    )
    session = s.record_cadss(
        session,
        CadssAssessment("c1", CadssForm.SHORT, (2, 1, 2, 1, 0, 1), at(9, 50), NURSE, scheduled_minute=40),
        SETTINGS,
    )
    session = s.end_infusion(session, NURSE, at(9, 55))
    session = s.record_vitals(session, reading("r-1010", at(10, 10), 138, 86, 80), SETTINGS)
    session = s.record_vitals(session, reading("r-1025", at(10, 25), 134, 84, 78), SETTINGS)
    record = administration(
        stopped_at=at(9, 55),
        rate_changes=(administration().rate_changes[0], administration().rate_changes[0].__class__(at(9, 42), 50.0)),
    )
    session = s.record_administration(session, order, record, SETTINGS)
    session = s.review_given_against_ordered(session, NURSE, at(10, 0), "", SETTINGS)
    session = s.record_cadss_not_rated(
        session, CadssNotRated("patient asleep", NURSE, at(10, 26), end_of_recovery=True), SETTINGS
    )
    return s.discharge(session, assessment(assessed_at=at(10, 25)), SETTINGS, NURSE, at(10, 30))


def test_generated_note_covers_the_record():
    order = make_order()
    text = generate_note(documented_session(order), order)
    expected_lines = [
        "Indication: Treatment-resistant depression",
        "Ordered dose: 0.5 mg/kg = 40 mg IV over 40 min at 75 mL/h",
        "Dose calculation (as given in the order): 0.5 mg/kg x 80 kg (actual body weight) = 40 mg in 50 mL over "
        "40 min at 75 mL/h",
        "  infusing: 2026-03-02 09:10 CET (UTC+01:00) by RN Dana Hill",
        "  discharged: 2026-03-02 10:30 CET (UTC+01:00) by RN Dana Hill",
        "  Baseline (pre-infusion): BP 128/82 mmHg, HR 76/min, SpO2 98%, RR 14/min, RASS +0",
        "  Peak systolic: 184 mmHg at 2026-03-02 09:40 CET (UTC+01:00)",
        "  Peak heart rate: 96/min at 2026-03-02 09:40 CET (UTC+01:00)",
        "  Lowest SpO2: 95% at 2026-03-02 09:40 CET (UTC+01:00)",
        "  Alert 2026-03-02 09:40 CET (UTC+01:00): systolic 184 mmHg ≥ 180 mmHg — rate reduced to 50 mL/h: 75 → 50 mL/h "
        "by Dr Sam Okafor at 2026-03-02 09:42 CET (UTC+01:00)",
        "  40 min after start (2026-03-02 09:50 CET (UTC+01:00)): cadss-6 total 7/24",
        "  nausea: moderate, onset 2026-03-02 09:35 CET (UTC+01:00), outcome resolved; action: ondansetron 4 mg IV",
        "  [met] aldrete: modified Aldrete 9/10 (minimum 9)",
        "  Ketamine lot KET-2291, expiry 2027-05-31",
    ]
    for line in expected_lines:
        assert line in text.splitlines(), line
    # 75 mL/h for 32 min (40 mL) + 50 mL/h for 13 min (10.83 mL) = 50.83 mL at 0.8 mg/mL = 40.7 mg
    assert (
        "  Given: 40.7 mg in 50.8 mL (computed from pump rates and pauses) at 0.8 mg/mL; ordered 40 mg (+1.7%)" in text
    )


def test_note_of_a_deferred_session_says_why_and_has_no_administration():
    order = make_order()
    from .builders import pre_checked

    deferred = s.defer(
        pre_checked(order, pre_reading=baseline("pre-1", at(9, 5), heart_rate=120)), "HR 120", NURSE, at(9, 20)
    )
    text = generate_note(deferred, order)
    assert "  deferred: 2026-03-02 09:20 CET (UTC+01:00) by RN Dana Hill (reason: HR 120)" in text
    assert "    hold: heart rate 120/min above 110/min" in text
    assert "Administration" not in text and "Adverse events: none" in text


def test_note_is_drafted_only_once_the_session_has_ended():
    order = make_order()
    with pytest.raises(TransitionNotAllowed):
        draft_note(infusing(order), order, "note-1", DOCTOR, at(10))
    note = draft_note(documented_session(order), order, "note-1", DOCTOR, at(10, 40))
    assert (note.version, note.status, note.replaces_note_id) == (1, NoteStatus.DRAFT, "")
    assert note.text == generate_note(documented_session(order), order)


def test_draft_is_edited_then_signed_and_then_immutable():
    order = make_order()
    note = draft_note(documented_session(order), order, "note-1", DOCTOR, at(10, 40))
    reviewed = edit_note(note, note.text + "\nPatient tolerated infusion well.\n")
    signed = sign_note(reviewed, DOCTOR, at(10, 45))
    assert signed.is_signed and (signed.signed_by, signed.signed_at) == (DOCTOR, at(10, 45))
    with pytest.raises(SignedNoteImmutable, match="cannot be edited; amend it"):
        edit_note(signed, "changed")
    with pytest.raises(SignedNoteImmutable, match="already signed"):
        sign_note(signed, DOCTOR, at(10, 50))
    assert isinstance(SignedNoteImmutable("x"), TransitionNotAllowed)  # answered 409 like other refusals


def test_signing_needs_a_signer_and_a_time_after_drafting():
    order = make_order()
    note = draft_note(documented_session(order), order, "note-1", DOCTOR, at(10, 40))
    with pytest.raises(DocumentationInputError) as error:
        sign_note(note, DOCTOR, at(10, 39))
    assert error.value.field == "at"
    with pytest.raises(DocumentationInputError) as error:
        sign_note(note, "", at(10, 41))
    assert error.value.field == "signer"


def test_amendment_is_a_new_version_replacing_the_signed_one():
    order = make_order()
    signed = sign_note(draft_note(documented_session(order), order, "note-1", DOCTOR, at(10, 40)), DOCTOR, at(10, 45))
    amended = amend_note(signed, "note-1-v2", signed.text + "Addendum: escort was spouse.\n", DOCTOR, at(14, 0))
    assert (amended.version, amended.replaces_note_id, amended.status) == (2, "note-1", NoteStatus.DRAFT)
    assert signed.text != amended.text and signed.is_signed  # the old version is untouched
    with pytest.raises(TransitionNotAllowed, match="edit it instead"):
        amend_note(amended, "note-1-v3", "x", DOCTOR, at(14, 5))
    with pytest.raises(DocumentationInputError):
        amend_note(signed, "note-1", "x", DOCTOR, at(14, 5))


def test_note_round_trips_and_a_stored_signed_note_must_be_complete():
    order = make_order()
    signed = sign_note(draft_note(documented_session(order), order, "note-1", DOCTOR, at(10, 40)), DOCTOR, at(10, 45))
    stored = json.loads(json.dumps(signed.to_dict()))
    assert ProcedureNote.from_dict(stored) == signed
    stored["signed_at"] = None
    with pytest.raises(DocumentationInputError) as error:
        ProcedureNote.from_dict(stored)
    assert error.value.field == "signed_at"
