"""Request bodies hold only what FHIR and the stores can carry (issue 16 item 8): a NUL character in text or a UTC
offset beyond ±14:00 is refused with a 400 naming the field, before anything is stored (it was stored, then failed
later: PostgreSQL refuses NUL in text, and the EHR refuses the dateTime, leaving the record stuck)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from services.orders.domain.errors import OrdersInputError
from services.orders.domain.series import plan_induction
from services.orders.domain.settings import ProtocolSettings
from shared.api import RequestModel


class Note(RequestModel):
    text: str
    at: datetime | None = None
    tags: list[str] = []
    answers: dict[str, str] = {}


@pytest.mark.parametrize("body", [
    {"text": "a\x00b"},
    {"text": "ok", "tags": ["fine", "bad\x00"]},
    {"text": "ok", "answers": {"q": "\x00"}},
    {"text": "ok", "at": "2026-12-07T09:00:00+23:00"},
    {"text": "ok", "at": "2026-12-07T09:00:00-14:30"},
])
def test_text_with_nul_or_a_time_beyond_fhir_offsets_is_refused_naming_the_field(body: dict) -> None:
    with pytest.raises(ValidationError) as refused:
        Note.model_validate(body)
    assert refused.value.errors()[0]["loc"][0] in ("text", "tags", "answers", "at")


@pytest.mark.parametrize("offset", [14, -14, 0, 5.5])
def test_times_within_fhir_offsets_are_kept(offset: float) -> None:
    zone = timezone(timedelta(hours=offset))
    note = Note.model_validate({"text": "ok", "at": datetime(2026, 12, 7, 9, tzinfo=zone).isoformat()})
    assert note.at is not None and note.at.utcoffset() == timedelta(hours=offset)


def test_a_series_whose_windows_run_past_the_calendar_is_refused_not_a_500() -> None:
    with pytest.raises(OrdersInputError) as refused:
        plan_induction("p1", date(9999, 12, 20), ProtocolSettings(),
                       now=datetime(2026, 12, 7, 12, tzinfo=timezone.utc))
    assert refused.value.field == "start_date"
