"""Issue 13 defect 16: interacting drugs the defaults missed (butalbital, linezolid, memantine, esketamine,
lamotrigine), and coded MedicationStatements matched by RxNorm ingredient (or a class code) as well as by name."""
import pytest

from services.intake.domain.decision import EligibilityOutcome, ReasonCode
from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.medications import MedicationEntry, interacting_drug_flags, parse_class_codes
from services.intake.domain.recording import record_medications
from services.intake.domain.settings import IntakeSettings
from services.intake.translators.medication_statement_in import medication_entry_from_fhir
from shared.config import SettingsError, load_settings

from .builders import DECIDED_AT, eligible_intake

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def flags(settings, *medications):
    return interacting_drug_flags(medications, settings.interacting_drug_class_terms,
                                  settings.interacting_drug_class_codes)


@pytest.mark.parametrize("name, drug_class", [
    ("Butalbital 50 MG / Acetaminophen 325 MG / Caffeine 40 MG Oral Tablet", "cns-depressant"),
    ("Linezolid 600 MG Oral Tablet", "maoi"),
    ("Memantine 10 MG Oral Tablet", "nmda-antagonist"),
    ("Esketamine 28 MG Nasal Spray", "nmda-antagonist"),
    ("Lamotrigine 100 MG Oral Tablet", "effect-blunting"),
])
def test_missed_interacting_drugs_are_flagged_by_name(settings, name, drug_class):
    assert [f.drug_class for f in flags(settings, MedicationEntry(name, "active"))] == [drug_class]


@pytest.mark.parametrize("name", ["Dexamfetamine 5 mg tablets", "Amfetamine sulfate 10 mg", "Lisdexamfetamine 30 MG",
                                  "Dextroamphetamine 5 MG Oral Tablet", "Methamphetamine 5 MG Oral Tablet"])
def test_amphetamines_are_flagged_in_either_spelling(settings, name):
    assert [f.drug_class for f in flags(settings, MedicationEntry(name, "active"))] == ["sympathomimetic"]


def test_a_coded_ingredient_is_flagged_whatever_its_name(settings):
    brand_only = MedicationEntry("Lamictal XR", "active", codings=(f"{RXNORM}|28439",))
    found = flags(settings, brand_only)
    assert [(f.drug_class, f.matched_term) for f in found] == [("effect-blunting", f"{RXNORM}|28439")]


def test_a_class_code_prefix_matches_the_hierarchy():
    settings = IntakeSettings(interacting_drug_codes=("benzodiazepine:http://www.whocc.no/atc|N05BA*",))
    entry = MedicationEntry("Clinic formulary item 17", "active", codings=("http://www.whocc.no/atc|N05BA12",))
    assert [f.drug_class for f in flags(settings, entry)] == ["benzodiazepine"]


def test_only_current_medications_are_flagged(settings):
    assert flags(settings, MedicationEntry("Lamictal", "completed", codings=(f"{RXNORM}|28439",))) == ()


def test_an_interacting_coded_drug_holds_the_decision(settings):
    intake = record_medications(eligible_intake(settings), [MedicationEntry("Namenda", "active",
                                                                            codings=(f"{RXNORM}|6719",))])
    decision = decide_eligibility(intake, settings, DECIDED_AT).decision
    assert decision.outcome is EligibilityOutcome.NEEDS_REVIEW
    assert "Interacting drug (nmda-antagonist): Namenda" in decision.rationale
    assert ReasonCode.INTERACTING_DRUG in [r.code for r in decision.reasons]


def test_the_medication_statement_keeps_every_coding():
    statement = {"resourceType": "MedicationStatement", "id": "ms-9", "status": "active",
                 "subject": {"reference": "Patient/pat-123"},
                 "medicationCodeableConcept": {"text": "Lamictal 100 mg", "coding": [
                     {"system": RXNORM, "code": "28439", "display": "lamotrigine"},
                     {"system": "http://www.whocc.no/atc", "code": "N03AX09"}]}}
    entry = medication_entry_from_fhir(statement)
    assert entry.codings == (f"{RXNORM}|28439", "http://www.whocc.no/atc|N03AX09")


@pytest.mark.parametrize("entry", ["lamotrigine", "x:notasystem|1", "x:http://a.b|", "x:http://a b|1"])
def test_malformed_code_entries_are_refused(entry):
    with pytest.raises(ValueError):
        parse_class_codes((entry,))
    with pytest.raises(SettingsError):
        load_settings(IntakeSettings, "INTAKE_", {"INTAKE_INTERACTING_DRUG_CODES": entry})
