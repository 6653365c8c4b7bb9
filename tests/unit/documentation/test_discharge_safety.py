"""Issue 13: the escort is a label condition (defect 10), missed observations are in the note and a scheduled
CADSS needs a rating or a reason (defect 11), discharge instructions and the next-day follow-up call."""
from dataclasses import replace
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from services.documentation.domain import session as s
from services.documentation.domain.cadss import CadssNotRated
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.follow_up import (
    FollowUpOutcome,
    FollowUpStatus,
    next_clinic_day,
    request_follow_up,
)
from services.documentation.domain.note_text import generate_note
from services.documentation.domain.settings import SessionSettings
from services.documentation.translators.task_follow_up_out import follow_up_task
from shared.clinic_time import clinic_zone_context

from .builders import (
    DOCTOR, NURSE, SETTINGS, administration, assessment, at, discharged, infusing, make_order, ready_for_discharge,
)


@pytest.fixture(autouse=True)
def clinic_in_paris():
    """The note writes clinic time; the builders' times are +01:00, Paris in March."""
    with clinic_zone_context(ZoneInfo("Europe/Paris")):
        yield


def refusal(session, assessed, moment=at(10, 25), override_reason=""):
    with pytest.raises(TransitionNotAllowed) as error:
        s.discharge(session, assessed, SETTINGS, NURSE, moment, override_reason)
    return error.value


def test_no_escort_is_refused_even_with_an_override_reason():
    refused = refusal(ready_for_discharge(), assessment(escort_present=False), override_reason="taxi")
    assert refused.failing == ("escort: no responsible adult to escort the patient",)
    assert "escort cannot be overridden" in refused.reason


def test_the_escort_is_named_with_the_relationship_and_kept_in_the_note():
    refused = refusal(ready_for_discharge(), assessment(escort_name="", escort_relationship="spouse"),
                      override_reason="known to staff")
    assert refused.failing[0].startswith("escort:") and "name and relationship" in refused.failing[0]
    session = discharged()
    assert session.discharge_record.assessment.escort_name == "Alex Hill"
    assert "  [met] escort: escort present: Alex Hill (spouse)" in generate_note(session, make_order()).splitlines()


def test_instructions_must_be_given_and_acknowledged():
    refused = refusal(ready_for_discharge(), assessment(instructions_acknowledged=False), override_reason="x")
    assert refused.failing == ("instructions: instructions given but not acknowledged by the patient",)
    refused = refusal(ready_for_discharge(), assessment(instructions_given=()))
    assert refused.failing[0].startswith("instructions: not given: No driving or operating machinery")
    text = generate_note(discharged(), make_order())
    assert "  - No driving or operating machinery until the next day" in text.splitlines()
    assert f"  - Who to call: {SETTINGS.discharge_contact}" in text.splitlines()


def test_unrated_scheduled_cadss_holds_discharge_until_rated_or_explained():
    order = make_order()
    session = s.record_administration(s_recovering(order), order, administration(), SETTINGS)
    session = s.review_given_against_ordered(session, NURSE, at(10, 0), "", SETTINGS)
    refused = refusal(session, assessment(), override_reason="doctor agrees")
    assert refused.failing == ("CADSS 40 min after start not rated: rate it or record why not",
                               "CADSS end of recovery not rated: rate it or record why not")
    explained = s.record_cadss_not_rated(session, CadssNotRated("patient asleep", NURSE, at(10, 21),
                                                                scheduled_minute=40), SETTINGS)
    explained = s.record_cadss_not_rated(explained, CadssNotRated("declined", NURSE, at(10, 21),
                                                                  end_of_recovery=True), SETTINGS)
    done = s.discharge(explained, assessment(), SETTINGS, NURSE, at(10, 25))
    text = generate_note(done, order)
    assert "Scheduled CADSS not rated:" in text
    assert "  40 min after start: not rated (patient asleep; RN Dana Hill at 2026-03-02 10:21 CET (UTC+01:00))" in \
        text.splitlines()
    with pytest.raises(DocumentationInputError) as error:
        s.record_cadss_not_rated(session, CadssNotRated("x", NURSE, at(10, 21), scheduled_minute=41), SETTINGS)
    assert error.value.field == "scheduled_minute"


def test_a_discharge_before_the_minimum_observation_still_needs_the_end_of_recovery_cadss():
    """Overriding the observation time (15 of 30 min) left the end-of-recovery CADSS not yet due: it was dropped,
    unrated and unmentioned in the note. Recovery ends at discharge, so it is due there."""
    order = make_order()
    session = s.record_administration(s_recovering(order), order, administration(), SETTINGS)
    session = s.review_given_against_ordered(session, NURSE, at(10, 0), "", SETTINGS)
    session = s.record_cadss_not_rated(session, CadssNotRated("patient asleep", NURSE, at(9, 50), scheduled_minute=40),
                                       SETTINGS)
    refused = refusal(session, assessment(), moment=at(10, 5), override_reason="well, escort waiting")
    assert "CADSS end of recovery not rated: rate it or record why not" in refused.failing
    rated = s.record_cadss_not_rated(session, CadssNotRated("declined", NURSE, at(10, 4), end_of_recovery=True),
                                     SETTINGS)
    done = s.discharge(rated, assessment(), SETTINGS, NURSE, at(10, 5), "well, escort waiting")
    assert "  end of recovery: not rated (declined; RN Dana Hill at 2026-03-02 10:04 CET (UTC+01:00))" in \
        generate_note(done, order).splitlines()


def test_the_cadss_page_offers_the_end_of_recovery_timepoint_an_early_discharge_needs():
    """Discharge refused for the end-of-recovery CADSS 15 min after the end: the page must let it be rated or
    explained then, not only once it falls due at 30 min."""
    from services.documentation.presenters import session_view
    from services.documentation.ui.cadss import cadss_timepoints as _cadss_timepoints

    order = make_order()
    view = session_view(s_recovering(order), order, at(10, 5), SETTINGS)
    options = _cadss_timepoints(view)
    assert ("end-of-recovery", "end of recovery (for an early discharge)") in options
    assert options[0] == ("minute:40", "40 min after start (due)")  # preselected: a due one, never the early one
    assert options.index(("unscheduled", "Unscheduled rating")) < options.index(
        ("end-of-recovery", "end of recovery (for an early discharge)"))


def test_the_note_lists_each_missed_reading_and_each_unrated_cadss():
    order = make_order()
    session = s.end_infusion(infusing(order), NURSE, at(9, 50))  # no reading at 09:25, 09:40, 10:05, 10:20
    session = s.abort(session, "patient left", NURSE, at(10, 30))
    text = generate_note(session, order, SETTINGS)
    lines = text.splitlines()
    assert "Missed readings: 4" in lines
    assert "  2026-03-02 09:25 CET (UTC+01:00) (infusion): no reading within 5 min" in lines
    assert "  2026-03-02 10:20 CET (UTC+01:00) (recovery): no reading within 5 min" in lines
    assert any(line.startswith("  40 min after start (due 2026-03-02 09:50") and "NOT RATED" in line for line in lines)
    assert any(line.startswith("  end of recovery (due") and "NOT RATED" in line for line in lines)
    assert "Missed readings: none" in generate_note(discharged(order), order, SETTINGS)


def test_discharge_requests_the_follow_up_call_for_the_next_clinic_day_and_it_completes_with_an_outcome():
    session = discharged()  # Monday 2 March 2026
    call = session.discharge_record.follow_up
    assert (call.owner, call.due_on, call.status) == (NURSE, date(2026, 3, 3), FollowUpStatus.REQUESTED)
    task = follow_up_task(session)
    assert task["status"] == "requested" and task["restriction"]["period"]["end"] == "2026-03-03"
    with pytest.raises(DocumentationInputError) as error:
        s.complete_follow_up_call(session, FollowUpOutcome.NOT_REACHED, "", DOCTOR, at(10, 0, day=3))
    assert error.value.field == "note"
    done = s.complete_follow_up_call(session, FollowUpOutcome.REACHED_WELL, "", DOCTOR, at(10, 0, day=3))
    task = follow_up_task(done)
    assert task["status"] == "completed"
    assert task["output"][0]["valueCodeableConcept"]["coding"][0]["code"] == "follow-up-reached-well"
    with pytest.raises(TransitionNotAllowed):
        s.complete_follow_up_call(done, FollowUpOutcome.REACHED_WELL, "", DOCTOR, at(11, 0, day=3))


def test_the_follow_up_call_is_due_the_clinic_day_after_the_discharge_in_the_clinics_zone():
    """18:30 on Monday in Chicago is 00:30 UTC on Tuesday (the API charts "now" in UTC): the call is due Tuesday,
    not Wednesday, inside the 24 h in which emergence phenomena can recur."""
    with clinic_zone_context(ZoneInfo("America/Chicago")):
        call = request_follow_up(NURSE, datetime(2026, 3, 3, 0, 30, tzinfo=timezone.utc), (1, 2, 3, 4, 5))
    assert call.due_on == date(2026, 3, 3)


def test_next_clinic_day_skips_days_the_clinic_is_closed():
    assert next_clinic_day(date(2026, 3, 6), (1, 2, 3, 4, 5)) == date(2026, 3, 9)  # Friday → Monday
    assert next_clinic_day(date(2026, 3, 6), (6,)) == date(2026, 3, 7)


def test_instruction_and_follow_up_settings_are_validated():
    with pytest.raises(ValueError, match="discharge_instructions"):
        replace(SessionSettings(), discharge_instructions=()).validate()
    with pytest.raises(ValueError, match="follow_up_clinic_weekdays"):
        replace(SessionSettings(), follow_up_clinic_weekdays=(0,)).validate()
    with pytest.raises(ValueError, match="controlled_substance_tolerance_mg"):
        replace(SessionSettings(), controlled_substance_tolerance_mg=50.0).validate()


def s_recovering(order):
    from .builders import recovering

    return recovering(order)
