"""The decision's reasons are the RiskAssessment's rationale in the EHR, a legal record: the times they quote are
clinic time, 24-hour with the zone and offset (issue 13, defect 22), not the server's UTC ISO instant."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from services.intake.domain.decision import ReasonCode
from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.recording import record_trials, record_urgent_use
from services.intake.domain.reviews import UrgentUseOverride
from shared.clinic_time import clinic_zone_context

from .builders import DECIDED_AT, SERTRALINE_FAILED, T0, eligible_intake
from tests.unit.intake.builders import HOPPER


def test_a_reason_quotes_its_time_in_the_clinics_zone(settings):
    at = T0 + timedelta(minutes=50)  # 2026-03-02 10:20 UTC = 04:20 in Chicago
    intake = record_trials(eligible_intake(settings), [SERTRALINE_FAILED], settings)
    intake = record_urgent_use(intake, UrgentUseOverride(HOPPER, at, "Acute suicidal ideation", True),
                               settings, now=at)
    with clinic_zone_context(ZoneInfo("America/Chicago")):
        decided = decide_eligibility(intake, settings, DECIDED_AT)
    [urgent] = [r for r in decided.decision.reasons if r.code is ReasonCode.URGENT_USE]
    assert "set aside by Dr Grace Hopper at 2026-03-02 04:20 CST (UTC\u221206:00):" in urgent.text
    assert "T10:20" not in urgent.text and "+00:00" not in urgent.text
