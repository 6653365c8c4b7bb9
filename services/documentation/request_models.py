"""Request bodies of the documentation API (pydantic, unknown fields refused). They are the commands the service
layer takes; field names follow the domain records so a domain error names the field the client sent.

Every clinical time (``at`` and the administration's times) is optional where it can default to now, carries a
timezone offset, and may not lie in the future (checked by the service with its clock)."""
from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, Field, StrictBool

from services.documentation.domain.adverse_events import AdverseEventKind, AdverseEventOutcome, Severity
from services.documentation.domain.cadss import CadssForm
from services.documentation.domain.flowsheet import AlertActionKind
from services.documentation.domain.pre_check import PregnancyCheck
from shared.api import RequestModel

RECORD_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"  # ends up in FHIR identifiers {session}/{id}/...
WHO = Field(min_length=1, max_length=200, description="Who did it (the clinician's display name).")
WHEN = Field(None, description="When it happened (ISO 8601 with offset); defaults to now; not in the future.")


def _record_id(what: str) -> object:
    return Field(None, pattern=RECORD_ID_PATTERN,
                 description=f"Client-chosen {what} id (letters, digits, . _ -), so a retried request changes nothing;"
                             " generated when omitted.")


class Step(RequestModel):
    """A session step: who and when."""

    by: str = WHO
    at: AwareDatetime | None = WHEN


class CheckIn(Step):
    """The patient has arrived for the scheduled infusion. Refused (409) outside the infusion's window or sooner
    than the clinic's minimum interval after the previous infusion, unless a prescriber overrides with a reason."""

    override_reason: str | None = Field(
        None, min_length=1, max_length=2000,
        description="Why the infusion may begin outside its window or sooner than the minimum interval (the "
                    "prescriber's documented decision; only read when a rule refuses the check-in).")
    override_by: str | None = Field(None, min_length=1, max_length=200,
                                    description="The prescriber who decided the override (display name).")


class StartInfusion(Step):
    """The pump is started (the latest pre-infusion check must allow it)."""


class EndInfusion(Step):
    """The pump is stopped; recovery begins."""


class ReasonedStep(Step):
    reason: str = Field(min_length=1, max_length=2000)


class HoldOverride(ReasonedStep):
    """Infuse despite the latest check's vital-sign holds; the reason and who decided are kept."""


class Defer(ReasonedStep):
    """Postpone the infusion (before it starts), e.g. BP high on recheck."""


class Abort(ReasonedStep):
    """Stop the session for good (from check-in on)."""


class VitalSigns(RequestModel):
    systolic_mmhg: int | None = Field(None, gt=0, lt=400)
    diastolic_mmhg: int | None = Field(None, gt=0, lt=300)
    heart_rate_per_min: int | None = Field(None, gt=0, lt=400)
    spo2_percent: float | None = Field(None, gt=0, le=100)
    respiratory_rate_per_min: int | None = Field(None, gt=0, lt=100)


class PreCheckReading(VitalSigns):
    """BP, heart rate and SpO2 are required for the hold rules."""

    reading_id: str | None = _record_id("reading")


class PreCheckConfirmations(RequestModel):
    fasting_confirmed: StrictBool
    ride_home_confirmed: StrictBool
    no_new_contraindication_since_intake: StrictBool
    no_new_interacting_drug_since_intake: StrictBool
    pregnancy_check: PregnancyCheck
    findings: str = Field("", max_length=2000)


class PreCheck(Step):
    """One pre-infusion check (a recheck is another one); the latest weight is read from the EHR at that moment."""

    reading: PreCheckReading
    confirmations: PreCheckConfirmations


class RecordVitals(Step, VitalSigns):
    """A flowsheet reading; ``at`` is when it was measured."""

    reading_id: str | None = _record_id("reading")


class RecordAlertAction(Step):
    kind: AlertActionKind
    detail: str = Field("", max_length=2000)


class RecordFlowsheetEvent(Step):
    """Free text and/or a code (system and code together); ``at`` is when it occurred."""

    event_id: str | None = _record_id("event")
    text: str = Field("", max_length=4000)
    code_system: str = ""
    code: str = ""
    code_display: str = ""


class RecordCadss(Step):
    """``item_scores`` in the form's item order (CADSS-6: items 1, 2, 6, 7, 15, 22), each 0-4; ``at`` is when rated."""

    assessment_id: str | None = _record_id("assessment")
    form: CadssForm
    item_scores: list[int]
    scheduled_minute: int | None = Field(None, gt=0)
    end_of_recovery: StrictBool = False


class RecordAdverseEvent(Step):
    """``at`` is the onset. Recording again with the same ``event_id`` updates the event (e.g. its outcome)."""

    event_id: str | None = _record_id("adverse event")
    kind: AdverseEventKind
    severity: Severity
    outcome: AdverseEventOutcome
    description: str = Field("", max_length=2000)
    action_taken: str = Field("", max_length=2000)
    serious: StrictBool = False


class RateChange(RequestModel):
    at: AwareDatetime
    rate_ml_per_h: float = Field(gt=0)


class Pause(RequestModel):
    paused_at: AwareDatetime
    resumed_at: AwareDatetime
    reason: str = Field(min_length=1, max_length=2000)


class RecordAdministration(RequestModel):
    """What was given: pump start/stop, the rate from each change on, pauses, lot and expiry. Totals are computed
    from the rates unless entered; the concentration defaults to the order's."""

    by: str = WHO
    started_at: AwareDatetime
    stopped_at: AwareDatetime
    rate_changes: list[RateChange] = Field(min_length=1)
    pauses: list[Pause] = []
    lot_number: str = Field(min_length=1, max_length=100)
    lot_expiry: date
    concentration_mg_per_ml: float | None = Field(None, gt=0)
    entered_total_ml: float | None = Field(None, gt=0)
    entered_total_mg: float | None = Field(None, gt=0)
    dose_discrepancy_reason: str = Field("", max_length=2000)


class Aldrete(RequestModel):
    activity: int = Field(ge=0, le=2)
    respiration: int = Field(ge=0, le=2)
    circulation: int = Field(ge=0, le=2)
    consciousness: int = Field(ge=0, le=2)
    oxygen_saturation: int = Field(ge=0, le=2)


class Discharge(Step):
    """Refused (409, every failing criterion listed) unless all criteria are met or ``override_reason`` is given;
    open alerts and a missing administration record cannot be overridden."""

    mental_status_at_baseline: StrictBool
    escort_present: StrictBool
    aldrete: Aldrete | None = None
    override_reason: str = Field("", max_length=2000)


class DraftNote(Step):
    """Generate the first version of the procedure note from an ended session."""


class EditNote(RequestModel):
    text: str = Field(min_length=1, max_length=100_000)


class SignNote(Step):
    """Sign the draft; the EHR receives the DocumentReference and the signature Provenance."""


class AmendNote(Step):
    """A new draft version that replaces the signed note once it is signed."""

    text: str = Field(min_length=1, max_length=100_000)
