"""``shared.fhir.reading.moment``: a dateTime that is not a JSON string (a number passes the structural validation,
which coerces it) is a mapping error naming the element, never a crash of the rule reading it."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.errors import FhirMappingError
from shared.fhir.reading import effective_time, moment


@pytest.mark.parametrize("value", [5, 1.5, True])
def test_a_date_time_that_is_not_a_string_is_a_mapping_error(value: object) -> None:
    with pytest.raises(FhirMappingError) as raised:
        moment(value, "Observation.effective[x]")  # type: ignore[arg-type]
    assert raised.value.field == "Observation.effective[x]"


def test_a_date_time_string_is_read_with_its_offset() -> None:
    assert moment("2026-12-07T10:00:00+01:00", "x") == datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
    assert effective_time({"effectivePeriod": {"start": "2026-12-07T09:00:00Z"}}) == \
        datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
