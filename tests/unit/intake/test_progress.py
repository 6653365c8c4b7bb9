"""What an intake still lacks before it can be eligible: the to-do list the screen shows, in the same terms as the
decision's reasons."""
import dataclasses

from services.intake.domain.baseline import ALL_BASELINE_PARTS, BaselinePart
from services.intake.domain.contraindications import ContraindicationAnswer, Presence
from services.intake.domain.decision import ReasonCode
from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.progress import (
    BASELINE_PART_PLACES,
    MissingItem,
    missing_baseline_parts,
    missing_items,
    unanswered_contraindications,
)
from services.intake.domain.recording import record_contraindications, record_vitals, start_intake
from services.intake.domain.vitals import BaselineVitals, VitalReading

from .builders import DECIDED_AT, INTAKE_ID, PATIENT_ID, T0, eligible_intake
from tests.unit.intake.builders import ADA


def new_intake():
    return start_intake(INTAKE_ID, PATIENT_ID, T0)


def test_a_complete_intake_lacks_nothing(settings):
    intake = eligible_intake(settings)
    assert missing_items(intake, settings) == ()
    assert missing_baseline_parts(intake, settings) == ()


def test_a_new_intake_lacks_every_part_in_screen_order(settings):
    missing = missing_items(new_intake(), settings)
    assert [(item.part, item.item) for item in missing] == [
        ("conditions", None), ("medications", None), ("trials", None), ("contraindications", None),
        ("vitals", "blood_pressure"), ("vitals", "heart_rate_per_min"), ("vitals", "spo2_pct"),
        ("vitals", "respiratory_rate_per_min"), ("vitals", "weight_kg"), ("vitals", "height_cm"),
        ("phq9", None), ("madrs", None), ("cssrs", None), ("consent", None),
    ]
    assert missing[4].text == "Baseline missing: blood pressure"
    assert missing[-1].text == "Informed consent not recorded"


def test_only_the_baseline_parts_the_clinic_requires_are_missing(settings):
    clinic = dataclasses.replace(settings, required_baseline_parts=("weight", "phq9"))
    assert missing_baseline_parts(new_intake(), clinic) == (BaselinePart.WEIGHT, BaselinePart.PHQ9)
    weighed = record_vitals(new_intake(), BaselineVitals(weight_kg=VitalReading(82.5, T0)), clinic)
    assert missing_baseline_parts(weighed, clinic) == (BaselinePart.PHQ9,)


def test_each_unanswered_contraindication_is_its_own_item(settings):
    assert unanswered_contraindications(new_intake(), settings) == (
        settings.absolute_contraindications + settings.relative_contraindications)
    first, *rest = settings.absolute_contraindications + settings.relative_contraindications
    screened = record_contraindications(new_intake(), [ContraindicationAnswer(first, Presence.ABSENT)], T0,
                                        ADA, settings)
    assert unanswered_contraindications(screened, settings) == tuple(rest)
    items = [item for item in missing_items(screened, settings) if item.part == "contraindications"]
    assert [item.item for item in items] == rest
    assert all(item.text.startswith("Not answered: ") for item in items)


def test_every_baseline_part_has_its_place_in_the_intake():
    assert set(BASELINE_PART_PLACES) == set(BaselinePart)
    assert {part.value for part in BASELINE_PART_PLACES} == set(ALL_BASELINE_PARTS)


def test_the_to_do_list_agrees_with_the_decision(settings):
    """A missing baseline part is both on the list and a reason the decision needs review."""
    intake = dataclasses.replace(eligible_intake(settings), vitals=dataclasses.replace(
        eligible_intake(settings).vitals, height_cm=None))
    assert missing_items(intake, settings) == (
        MissingItem("vitals", "height_cm", "Baseline missing: body height"),)
    decision = decide_eligibility(intake, settings, DECIDED_AT).decision
    assert any(reason.code is ReasonCode.BASELINE_MISSING and "body height" in reason.text
               for reason in decision.reasons)


def test_missing_items_are_json_records():
    item = MissingItem("vitals", "spo2_pct", "Baseline missing: oxygen saturation")
    assert item.to_dict() == {"part": "vitals", "item": "spo2_pct", "text": "Baseline missing: oxygen saturation"}
    assert MissingItem.from_dict(item.to_dict()) == item
