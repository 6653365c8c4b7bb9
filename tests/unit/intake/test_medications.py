from datetime import date

import pytest

from services.intake.domain.medications import (
    InteractingDrugFlag,
    MedicationEntry,
    interacting_drug_flags,
    name_matches,
    parse_class_terms,
)
from services.intake.domain.settings import IntakeSettings


@pytest.mark.parametrize("name, term, expected", [
    ("Theophylline 300 MG Extended Release Oral Tablet", "theophylline", True),
    ("LORAZEPAM 1MG TAB", "*azepam", True),
    ("alprazolam 0.5 mg", "*azolam", True),
    ("Carbamazepine 200 MG", "*azepam", False),  # an anticonvulsant, not a benzodiazepine
    ("Pseudoephedrine 60 MG", "*ephedrine", True),
    ("ephedrinesulfate", "*ephedrine", False),  # "*" matches word endings only, not the middle of a word
    ("Dextroamphetamine-amphetamine 20 mg", "*amphetamine", True),
    ("Emsam (selegiline) 6 mg/24 h patch", "selegiline", True),
    ("oxycodone/acetaminophen 5/325", "oxycodone", True),
    ("codeine", "code", False),  # whole words only, no substrings
    ("methylene blue 1% injection", "methylene blue", True),
    ("methylene chloride", "methylene blue", False),
])
def test_matching_rule(name, term, expected):
    assert name_matches(name, term) is expected


def test_current_drugs_are_flagged_once_per_class():
    terms = IntakeSettings().interacting_drug_class_terms
    medications = (
        MedicationEntry("Lorazepam 1 MG Oral Tablet", "active"),
        MedicationEntry("Zolpidem 10 MG", "on-hold"),
        MedicationEntry("Methylphenidate 20 MG", "unknown"),
        MedicationEntry("Diazepam 5 MG", "completed"),  # stopped: not current
        MedicationEntry("Sertraline 100 MG", "active"),
    )
    assert interacting_drug_flags(medications, terms) == (
        InteractingDrugFlag("benzodiazepine", "Lorazepam 1 MG Oral Tablet", "*azepam"),
        InteractingDrugFlag("cns-depressant", "Zolpidem 10 MG", "zolpidem"),
        InteractingDrugFlag("sympathomimetic", "Methylphenidate 20 MG", "*methylphenidate"),
    )


def test_parse_class_terms_lowercases_and_refuses_malformed_entries():
    assert parse_class_terms(("MAOI: Phenelzine",))[0].drug_class == "maoi"
    with pytest.raises(ValueError, match="class:name"):
        parse_class_terms(("maoi:",))


def test_duration_in_weeks_from_the_period():
    finished = MedicationEntry("sertraline", "completed", started_on=date(2025, 1, 6), ended_on=date(2025, 3, 3))
    ongoing = MedicationEntry("venlafaxine", "active", started_on=date(2026, 1, 2))
    assert finished.duration_weeks(date(2026, 3, 2)) == 8.0
    assert ongoing.duration_weeks(date(2026, 3, 2)) == 8.4  # 59 days
    assert MedicationEntry("bupropion", "active").duration_weeks(date(2026, 3, 2)) is None
