"""The note writes clinic time (issue 13, defect 22): a session charted in Chicago reads "05:43 CST (UTC−06:00)"
in the legal record, never the server's UTC ("2026-12-07T11:43+00:00")."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from services.documentation.domain import session as s
from services.documentation.domain.note_text import generate_note
from shared.clinic_time import clinic_zone_context

from .builders import NURSE, at, make_order, pre_checked, baseline


def test_the_note_states_each_time_in_the_clinics_zone_with_its_offset():
    order = make_order()
    deferred = s.defer(pre_checked(order, pre_reading=baseline("pre-1", at(9, 5), heart_rate=120)), "HR 120", NURSE,
                       at(9, 20))  # 09:20 at +01:00 = 08:20 UTC = 02:20 in Chicago (CST, UTC−06:00)
    with clinic_zone_context(ZoneInfo("America/Chicago")):
        text = generate_note(deferred, order)
    assert "  deferred: 2026-03-02 02:20 CST (UTC\u221206:00) by RN Dana Hill (reason: HR 120)" in text
    assert "+01:00" not in text and "+00:00" not in text and "T02:20" not in text
