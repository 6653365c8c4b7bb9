"""The kept sessions (``services/documentation/repository/decoded.py``): a read or write that decodes or encodes
only what changed gives exactly what a full decode or encode gives, refuses what a full decode refuses, and never
takes one JSON value for another (``1``, ``1.0`` and ``true``)."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from services.documentation.domain import session as s
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.session import Session
from services.documentation.repository.decoded import DecodedRecords, same_json

from .builders import SETTINGS, at, ready_for_discharge, reading


def text_of(session: Session) -> str:
    return json.dumps(session.to_dict())


def with_reading(session: Session, reading_id: str, minute: int, **values) -> Session:
    """A reading ``minute`` minutes after 09:00."""
    return s.record_vitals(session, reading(reading_id, at(9 + minute // 60, minute % 60), **values), SETTINGS)


def test_the_same_text_is_the_record_kept_and_another_text_decodes_to_what_a_full_decode_gives():
    kept = DecodedRecords()
    session = ready_for_discharge()
    first, _ = kept.decode(Session, "session", "s-1", text_of(session))
    assert first == session
    assert kept.decode(Session, "session", "s-1", text_of(session))[0] is first  # not decoded again

    # Another process charted a reading between two earlier ones and an action on nothing else: only the new
    # reading is decoded, the others are the very objects decoded before.
    changed = with_reading(session, "r-1010", 70, systolic=190, diastolic=100)  # 10:10, opens an alert
    assert changed.readings.index(changed.reading("r-1010")) < len(changed.readings) - 1  # not at the end
    second, data = kept.decode(Session, "session", "s-1", text_of(changed))
    assert second == Session.from_dict(json.loads(text_of(changed))) == changed
    assert data == json.loads(text_of(changed))
    reused = {id(r) for r in first.readings}
    assert [id(r) in reused for r in second.readings] == [r.reading_id != "r-1010" for r in second.readings]


def test_a_write_encodes_to_the_text_a_full_encode_gives_and_the_next_read_of_it_is_the_record_written():
    kept = DecodedRecords()
    session = ready_for_discharge()
    loaded, _ = kept.decode(Session, "session", "s-1", text_of(session))
    changed = with_reading(loaded, "r-1030", 80)
    text, data = kept.encode("session", "s-1", changed)
    assert text == text_of(changed) and data == changed.to_dict()
    assert kept.decode(Session, "session", "s-1", text)[0] is changed
    # A session changed in several places (an administration record replaced, a reading added) still encodes whole.
    again = replace(with_reading(changed, "r-1045", 95), chair="Chair 4",
                    administration=replace(changed.administration, lot_number="KET-9999"))
    assert kept.encode("session", "s-1", again)[0] == text_of(again)


@pytest.mark.parametrize("field, stored", [
    ("heart_rate_per_min", True),       # == 1 in Python, refused by the codec (an integer, not true)
    ("heart_rate_per_min", 76.0),       # == 76, refused: an integer field
    ("heart_rate_per_min", "76"),
    ("measured_at", "2026-03-02T09:25:00"),  # no offset
])
def test_a_changed_part_that_a_full_decode_refuses_is_refused_the_same(field, stored):
    kept = DecodedRecords()
    session = ready_for_discharge()
    kept.decode(Session, "session", "s-1", text_of(session))
    document = json.loads(text_of(session))
    document["readings"][1][field] = stored
    with pytest.raises(DocumentationInputError) as full:
        Session.from_dict(json.loads(json.dumps(document)))
    with pytest.raises(DocumentationInputError) as incremental:
        kept.decode(Session, "session", "s-1", json.dumps(document))
    assert (incremental.value.field, str(incremental.value)) == (full.value.field, str(full.value))


def test_a_unit_that_equals_the_kept_one_in_python_but_not_in_json_is_decoded_again():
    """``spo2_percent`` 98.0 kept, 98 stored: equal in Python, not the same JSON; the float field takes both, so the
    record is equal, and it is decoded (not reused) all the same."""
    kept = DecodedRecords()
    session = ready_for_discharge()
    first, _ = kept.decode(Session, "session", "s-1", text_of(session))
    document = json.loads(text_of(session))
    document["readings"][0]["spo2_percent"] = 98
    second, _ = kept.decode(Session, "session", "s-1", json.dumps(document))
    assert second == first and second.readings[0] is not first.readings[0]
    assert second.readings[1] is first.readings[1]


def test_an_unknown_or_missing_field_is_decoded_in_full_and_refused_or_defaulted_as_a_full_decode_does():
    kept = DecodedRecords()
    session = ready_for_discharge()
    kept.decode(Session, "session", "s-1", text_of(session))
    unknown = json.loads(text_of(session))
    unknown["readings"][0]["pulse"] = 70
    with pytest.raises(DocumentationInputError, match="unknown field"):
        kept.decode(Session, "session", "s-1", json.dumps(unknown))
    older = json.loads(text_of(session))
    del older["chair"]  # a document from before the field: its default
    assert kept.decode(Session, "session", "s-1", json.dumps(older))[0] == Session.from_dict(older)


def test_same_json_tells_apart_what_python_equality_does_not():
    assert same_json({"a": [1, 2.5, "x", None]}, {"a": [1, 2.5, "x", None]})
    assert not same_json(1, 1.0) and not same_json(1, True) and not same_json(0, False)
    assert not same_json({"a": 1}, {"a": 1, "b": 2}) and not same_json([1], [1, 1])
    assert not same_json({"a": 1, "b": 2}, {"b": 2, "c": 1})


def test_the_records_kept_are_bounded():
    kept = DecodedRecords(capacity=2)
    session = ready_for_discharge()
    for record_id in ("s-1", "s-2", "s-3"):
        kept.decode(Session, "session", record_id, text_of(session))
    first, _ = kept.decode(Session, "session", "s-1", text_of(session))
    assert first == session  # decoded again: s-1 was the oldest and left
    assert kept.decode(Session, "session", "s-3", text_of(session))[0] is not first
