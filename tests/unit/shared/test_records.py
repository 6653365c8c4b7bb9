"""The JSON codec every service stores its records with: round trips, the document's form, and errors naming the
path of what does not fit."""
import enum
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest

from shared.records import JsonRecord, RecordError, from_json, parse_aware_datetime, to_json

CLINIC = timezone(timedelta(hours=1))
TAKEN_AT = datetime(2026, 3, 2, 9, 40, tzinfo=CLINIC)


class InputError(ValueError):
    """Like each service's input error: names its ``field``."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class Site(enum.Enum):
    ARM = "left-arm"
    WRIST = "wrist"


@dataclass(frozen=True)
class Reading(JsonRecord):
    reading_id: str
    taken_at: datetime
    systolic_mmhg: int
    spo2_percent: float
    site: Site
    repeated: bool = False
    note: str | None = None

    def __post_init__(self) -> None:
        if not 0 < self.spo2_percent <= 100:
            raise InputError("spo2_percent", "must be 1-100")


@dataclass(frozen=True)
class Visit(JsonRecord):
    derived_fields = ("reading_count",)

    visit_id: str
    day: date
    readings: tuple[Reading, ...]
    window_min: tuple[int, int] = (0, 40)

    @property
    def reading_count(self) -> int:
        return len(self.readings)


class ClinicError(ValueError):
    pass


@dataclass(frozen=True)
class ClinicRecord(JsonRecord):
    name: str

    @classmethod
    def record_error(cls, error: RecordError) -> Exception:
        return ClinicError(f"stored clinic record: {error.path}: {error.message}")


def visit() -> Visit:
    return Visit("v-1", date(2026, 3, 2), (Reading("r-1", TAKEN_AT, 128, 98.0, Site.ARM),
                                           Reading("r-2", TAKEN_AT + timedelta(minutes=15), 146, 96.5, Site.WRIST,
                                                   True, "after the bolus")))


def test_a_record_round_trips_through_json():
    stored = json.loads(json.dumps(visit().to_dict()))
    assert Visit.from_dict(stored) == visit()


def test_the_document_uses_iso_strings_enum_values_and_lists():
    data = visit().to_dict()
    assert data["day"] == "2026-03-02"
    assert data["readings"][0] == {"reading_id": "r-1", "taken_at": "2026-03-02T09:40:00+01:00", "systolic_mmhg": 128,
                                   "spo2_percent": 98.0, "site": "left-arm", "repeated": False, "note": None}
    assert data["window_min"] == [0, 40]


def test_derived_fields_are_written_for_readers_and_skipped_on_reading():
    data = visit().to_dict()
    assert data["reading_count"] == 2
    data["reading_count"] = 99  # not read back: the record computes it again
    assert Visit.from_dict(data).reading_count == 2


def test_defaults_fill_fields_an_older_document_does_not_have():
    data = visit().to_dict()
    del data["window_min"]
    del data["readings"][0]["note"]
    assert Visit.from_dict(data) == visit()


@pytest.mark.parametrize("change, path, message", [
    (lambda d: d["readings"][1].update(taken_at="2026-03-02T09:55:00"), "readings[1].taken_at", "timezone"),
    (lambda d: d["readings"][0].update(taken_at="soon"), "readings[0].taken_at", "not an ISO timestamp"),
    (lambda d: d.update(day="02/03/2026"), "day", "not an ISO date"),
    (lambda d: d["readings"][0].update(site="ankle"), "readings[0].site", "expected one of left-arm, wrist"),
    (lambda d: d["readings"][0].update(systolic_mmhg=True), "readings[0].systolic_mmhg", "expected an integer"),
    (lambda d: d["readings"][0].update(systolic_mmhg=128.5), "readings[0].systolic_mmhg", "expected an integer"),
    (lambda d: d["readings"][0].update(spo2_percent="98"), "readings[0].spo2_percent", "expected a number"),
    (lambda d: d["readings"][0].update(repeated="no"), "readings[0].repeated", "expected true or false"),
    (lambda d: d.update(visit_id=7), "visit_id", "expected a string"),
    (lambda d: d.update(readings={}), "readings", "expected a list"),
    (lambda d: d.update(window_min=[0, 40, 60]), "window_min", "expected 2 items"),
    (lambda d: d["readings"].append("r-3"), "readings[2]", "expected an object"),
    (lambda d: d.pop("visit_id"), "visit_id", "missing"),
    (lambda d: d["readings"][0].update(nickname="x"), "readings[0].nickname", "unknown field"),
    (lambda d: d["readings"][1].update(spo2_percent=101), "readings[1].spo2_percent", "must be 1-100"),
])
def test_what_does_not_fit_is_named_by_its_path(change, path, message):
    data = visit().to_dict()
    change(data)
    with pytest.raises(RecordError) as error:
        Visit.from_dict(data)
    assert error.value.path == path
    assert message in error.value.message
    assert str(error.value).startswith(f"$.{path}: ")


def test_the_whole_document_is_the_root_path():
    with pytest.raises(RecordError) as error:
        Visit.from_dict(["not", "an", "object"])
    assert (error.value.path, str(error.value)) == ("", "$: expected an object")


def test_a_service_maps_the_error_to_its_own():
    with pytest.raises(ClinicError, match="stored clinic record: name: expected a string"):
        ClinicRecord.from_dict({"name": None})


def test_timestamps_must_carry_their_offset():
    assert parse_aware_datetime("2026-03-02T08:40:00Z", "at") == TAKEN_AT
    with pytest.raises(RecordError, match=r"^\$\.at: timestamp needs a timezone offset$"):
        parse_aware_datetime("2026-03-02T08:40:00", "at")


def test_values_json_cannot_hold_are_refused_both_ways():
    with pytest.raises(TypeError, match="set"):
        to_json({"a", "b"})
    with pytest.raises(TypeError, match="no JSON conversion"):
        from_json(set, [], "tags")
