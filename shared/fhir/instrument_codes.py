"""Codes of the rating instruments (PHQ-9, MADRS, GAD-7, QIDS-SR16, C-SSRS screener): item codes, answer codes and
questionnaire canonicals, in one place so that what the intake writes (the baseline) the treatment course reads
unchanged.

Sources: PHQ-9 items as in the US Core PHQ-9 example (LOINC), answer list LL358-3 (PHQ-9 and GAD-7); C-SSRS screener
items and Yes/No answers as in the HL7 Behavioral Health Profiles C-SSRS example (CLINICAL.md "Codes"); C-SSRS risk
"Low" LA9194-7 from that example, "Moderate" LA6751-7 and "High" LA9193-9 from third-party ConceptMaps (unverified
against LOINC itself). MADRS and QIDS-SR16 have no LOINC (CLINICAL.md) and the GAD-7 item codes were not verified,
so their items use Ketalink-local codes.

Severity bands (``shared.scales.SEVERITY_BANDS``) go out as ``Observation.interpretation`` with a Ketalink-local code
per band (``phq-9-severity-moderately-severe``) and its display: HL7 v3 ObservationInterpretation (H, L, N ...)
describes a result against a reference range, not a questionnaire's severity band, so it is not used for them."""
from __future__ import annotations

from typing import Any

from shared.fhir.codes import KETALINK_LOCAL, LOINC, Code
from shared.fhir.datatypes import codeable_concept
from shared.scales import DEFINITIONS, SEVERITY_BANDS, CssrsItem, CssrsRisk, Scale, SeverityBand, severity_band

QUESTIONNAIRE_BASE = "https://ketalink.example.org/fhir/Questionnaire"
QUESTIONNAIRES: dict[Scale, str] = {
    Scale.PHQ9: f"{QUESTIONNAIRE_BASE}/phq-9",
    Scale.MADRS: f"{QUESTIONNAIRE_BASE}/madrs",
    Scale.GAD7: f"{QUESTIONNAIRE_BASE}/gad-7",
    Scale.QIDS_SR16: f"{QUESTIONNAIRE_BASE}/qids-sr16",
}
CSSRS_QUESTIONNAIRE = f"{QUESTIONNAIRE_BASE}/cssrs-screener"
# LOINC's own questionnaire canonicals an EHR may name instead (PHQ-9 panel 44249-1, GAD-7 panel 69737-5).
LOINC_QUESTIONNAIRES: dict[str, Scale] = {
    "http://loinc.org/q/44249-1": Scale.PHQ9,
    "http://loinc.org/q/69737-5": Scale.GAD7,
}


def _local_items(prefix: str, displays: tuple[str, ...]) -> tuple[Code, ...]:
    return tuple(Code(KETALINK_LOCAL, f"{prefix}-item-{n}", text) for n, text in enumerate(displays, start=1))


SCALE_ITEMS: dict[Scale, tuple[Code, ...]] = {
    Scale.PHQ9: (
        Code(LOINC, "44250-9", "Little interest or pleasure in doing things"),
        Code(LOINC, "44255-8", "Feeling down, depressed, or hopeless"),
        Code(LOINC, "44259-0", "Trouble falling or staying asleep, or sleeping too much"),
        Code(LOINC, "44254-1", "Feeling tired or having little energy"),
        Code(LOINC, "44251-7", "Poor appetite or overeating"),
        Code(LOINC, "44258-2", "Feeling bad about yourself - or that you are a failure or have let yourself or your "
                               "family down"),
        Code(LOINC, "44252-5", "Trouble concentrating on things, such as reading the newspaper or watching "
                               "television"),
        Code(LOINC, "44253-3", "Moving or speaking so slowly that other people could have noticed, or the opposite"),
        Code(LOINC, "44260-8", "Thoughts that you would be better off dead, or of hurting yourself in some way"),
    ),
    Scale.MADRS: _local_items("madrs", (
        "Apparent sadness", "Reported sadness", "Inner tension", "Reduced sleep", "Reduced appetite",
        "Concentration difficulties", "Lassitude", "Inability to feel", "Pessimistic thoughts", "Suicidal thoughts",
    )),
    Scale.GAD7: _local_items("gad7", (
        "Feeling nervous, anxious, or on edge", "Not being able to stop or control worrying",
        "Worrying too much about different things", "Trouble relaxing",
        "Being so restless that it is hard to sit still", "Becoming easily annoyed or irritable",
        "Feeling afraid, as if something awful might happen",
    )),
    Scale.QIDS_SR16: _local_items("qids-sr16", (
        "Falling asleep", "Sleep during the night", "Waking up too early", "Sleeping too much", "Feeling sad",
        "Decreased appetite", "Increased appetite", "Decreased weight (within the last two weeks)",
        "Increased weight (within the last two weeks)", "Concentration / decision making", "View of myself",
        "Thoughts of death or suicide", "General interest", "Energy level", "Feeling slowed down",
        "Feeling restless",
    )),
}
# LOINC answer list LL358-3 (PHQ-9 and GAD-7 items): answer code → item score.
FREQUENCY_ANSWER_SCORES: dict[str, int] = {"LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3}

CSSRS_ITEMS: dict[CssrsItem, Code] = {
    CssrsItem.WISH_TO_BE_DEAD: Code(LOINC, "93246-7", "Have you wished you were dead or wished you could go to "
                                                      "sleep and not wake up?"),
    CssrsItem.SUICIDAL_THOUGHTS: Code(LOINC, "93247-5", "Have you actually had any thoughts of killing yourself?"),
    CssrsItem.IDEATION_WITH_METHOD: Code(LOINC, "93248-3", "Have you been thinking about how you might do this?"),
    CssrsItem.IDEATION_WITH_INTENT: Code(LOINC, "93249-1", "Have you had these thoughts and had some intention of "
                                                           "acting on them?"),
    CssrsItem.IDEATION_WITH_PLAN_AND_INTENT: Code(LOINC, "93250-9", "Have you started to work out or worked out the "
                                                                    "details of how to kill yourself? Do you intend "
                                                                    "to carry out this plan?"),
    CssrsItem.SUICIDAL_BEHAVIOUR_LIFETIME: Code(LOINC, "93267-3", "Have you ever done anything, started to do "
                                                                  "anything, or prepared to do anything to end your "
                                                                  "life?"),
    CssrsItem.SUICIDAL_BEHAVIOUR_PAST_3_MONTHS: Code(LOINC, "93269-9", "Was this within the past 3 months?"),
}
LOINC_YES = Code(LOINC, "LA33-6", "Yes")
LOINC_NO = Code(LOINC, "LA32-8", "No")

# C-SSRS risk: a local code for every level, plus the LOINC answer (list LL465-6) where one exists.
CSSRS_RISK_LOCAL: dict[CssrsRisk, Code] = {
    risk: Code(KETALINK_LOCAL, f"cssrs-risk-{risk.value}", f"C-SSRS risk: {risk.value}") for risk in CssrsRisk
}
CSSRS_RISK_LOINC: dict[CssrsRisk, Code] = {
    CssrsRisk.LOW: Code(LOINC, "LA9194-7", "Low"),
    CssrsRisk.MODERATE: Code(LOINC, "LA6751-7", "Moderate"),
    CssrsRisk.HIGH: Code(LOINC, "LA9193-9", "High"),
}


# Severity bands: one local code per band of each scale that has bands.
SEVERITY_BAND_CODES: dict[SeverityBand, Code] = {
    band: Code(KETALINK_LOCAL, f"{band.scale.value}-severity-{band.key}",
               f"{DEFINITIONS[band.scale].name} severity: {band.label} ({band.low}-{band.high})")
    for bands in SEVERITY_BANDS.values() for band in bands
}


def severity_interpretation(scale: Scale, total: int) -> list[dict[str, Any]] | None:
    """``Observation.interpretation`` for a scale total: its severity band, coded, with the band in words as text
    ("moderately severe (PHQ-9 15-19)"); None for a scale without bands."""
    band = severity_band(scale, total)
    if band is None:
        return None
    return [codeable_concept(SEVERITY_BAND_CODES[band], band.text)]
