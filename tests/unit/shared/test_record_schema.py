"""The answers' schemas are derived from the records' type hints (``shared/record_schema.py``): a record's own
``to_dict()`` output fits its schema, and a document that is not what the record writes does not."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timezone

import jsonschema_rs

from shared.people import Person
from shared.record_schema import STRING, answer, record_schema
from shared.records import JsonRecord


class Phase(enum.Enum):
    INDUCTION = "induction"
    MAINTENANCE = "maintenance"


@dataclass(frozen=True)
class Window(JsonRecord):
    opens: date
    closes: date


@dataclass(frozen=True)
class Plan(JsonRecord):
    plan_id: str
    phase: Phase
    created_at: datetime
    count: int
    dose_mg: float
    signed: bool
    by: Person | None
    windows: tuple[Window, ...]
    note: str | None = None
    tags: tuple[str, ...] = ()


PLAN = Plan("p-1", Phase.INDUCTION, datetime(2026, 12, 7, 9, 30, tzinfo=timezone.utc), 6, 40.5, False,
            Person("Practitioner/dr-okoye", "Dr Okoye"), (Window(date(2026, 12, 7), date(2026, 12, 9)),))


def test_what_a_record_writes_fits_the_schema_derived_from_it():
    schema = record_schema(Plan)
    assert schema["required"] == ["plan_id", "phase", "created_at", "count", "dose_mg", "signed", "by", "windows",
                                  "note", "tags"]
    assert schema["properties"]["phase"] == {"enum": ["induction", "maintenance"]}
    for record in (PLAN, Plan("p-2", Phase.MAINTENANCE, PLAN.created_at, 1, 30, True, None, (), "n", ("a",))):
        jsonschema_rs.validate(schema, record.to_dict())


def test_a_document_the_record_does_not_write_does_not_fit():
    validator = jsonschema_rs.validator_for(record_schema(Plan))
    good = PLAN.to_dict()
    wrong = [{**good, "phase": "acute"}, {**good, "count": "6"}, {**good, "windows": [{"opens": "2026-12-07"}]},
             {key: value for key, value in good.items() if key != "signed"}, {**good, "by": "Dr Okoye"}]
    assert [validator.is_valid(document) for document in wrong] == [False] * len(wrong)


def test_an_answer_adds_the_presenters_own_keys_as_required():
    schema = answer(Plan, text=STRING)
    assert schema["required"][-1] == "text" and schema["properties"]["text"] == STRING
    assert jsonschema_rs.validator_for(schema).is_valid({**PLAN.to_dict(), "text": "x"})
    assert not jsonschema_rs.validator_for(schema).is_valid(PLAN.to_dict())
