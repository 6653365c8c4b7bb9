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
from services.documentation.domain.follow_up import FollowUpOutcome
from services.documentation.domain.pump import PumpChangeKind
from services.documentation.domain.rescue import MAX_RESCUE_DOSE, RescueDoseUnit, RescueRoute
from services.documentation.domain.pre_check import PregnancyCheck
from services.documentation.domain.suicide_risk import ReviewDecision
from services.documentation.domain.vitals import RASS_MAX, RASS_MIN
from shared.api import RequestModel
from shared.people import ActedRequest
from shared.roles import Attested

RECORD_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"  # ends up in FHIR identifiers {session}/{id}/...
WHO = Field(None, min_length=1, max_length=200,
            description="Who did it, by name: used only where SMART is off (local runs). Otherwise who is recorded "
                        "is the signed-in clinician (the token's or launch's fhirUser), whatever this says.")
ON_BEHALF_OF = Field(None, max_length=100, pattern=r"^(Practitioner|PractitionerRole)/[A-Za-z0-9\-.]{1,64}$",
                     description="Only for a backend client (a token without fhirUser): the clinician it acts for, "
                                 "Practitioner/<id>, which must exist in the EHR. A clinician's own token may not "
                                 "name anyone else (403).")
WHEN = Field(None, description="When it happened (ISO 8601 with offset); defaults to now; not in the future.")


def _record_id(what: str) -> object:
    return Field(None, pattern=RECORD_ID_PATTERN,
                 description=f"Client-chosen {what} id (letters, digits, . _ -), so a retried request changes nothing;"
                             " generated when omitted.")


class Acted(RequestModel, ActedRequest):
    """What a clinician does: recorded under the request's clinician (``actor``, from the SMART context)."""

    by: str | None = WHO
    on_behalf_of: str | None = ON_BEHALF_OF


class Step(Acted):
    """A session step: who and when."""

    at: AwareDatetime | None = WHEN


class CheckIn(Step):
    """The patient has arrived for the scheduled infusion. Refused (409) outside the infusion's window or sooner
    than the clinic's minimum interval after the previous infusion, unless a prescriber overrides with a reason."""

    override_reason: str | None = Field(
        None, min_length=1, max_length=2000,
        description="Why the infusion may begin outside its window or sooner than the minimum interval (the "
                    "prescriber's documented decision; only read when a rule refuses the check-in).")
    chair: str | None = Field(
        None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$",
        description="Where the patient sits (\"Chair 3\", \"B2\"): shown on the suite board. A label, never a name.")


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
    """Outer bounds only; the clinic's plausible ranges (``plausible_*`` settings, e.g. SpO2 50-100 %) are checked
    by the service and a value outside is refused with a 400 naming the field. ``rass_score``: the Richmond
    Agitation-Sedation Scale (-5 unarousable … 0 alert and calm … +4 combative; Sessler 2002)."""

    systolic_mmhg: int | None = Field(None, gt=0, lt=400)
    diastolic_mmhg: int | None = Field(None, gt=0, lt=300)
    heart_rate_per_min: int | None = Field(None, gt=0, lt=400)
    spo2_percent: float | None = Field(None, ge=1, le=100)
    respiratory_rate_per_min: int | None = Field(None, gt=0, lt=100)
    rass_score: int | None = Field(None, ge=RASS_MIN, le=RASS_MAX)


class PreCheckReading(VitalSigns):
    """The readings the clinic requires (``pre_check_required_readings``: by default BP, heart rate, SpO2,
    respiratory rate and RASS; BP, heart rate and SpO2 always) are refused when missing, 400 naming
    ``reading.<field>``: the hold rules only look at what was measured. Optional here because the clinic may drop
    respiratory rate or RASS."""

    reading_id: str | None = _record_id("reading")


class PreCheckConfirmations(RequestModel):
    """``last_solid_food_at`` / ``last_clear_fluids_at``: when the patient last ate solid food and last drank clear
    fluids (ISO 8601 with offset; not in the future, not after the check, at most
    ``fasting_time_max_hours_before_check`` before it); a fasting window not met (``fasting_solids_hours`` 6 h,
    ``fasting_clear_fluids_hours`` 2 h) holds the infusion, not overridable. ``pregnancy_check`` ``not-applicable``
    is refused (400) unless the patient's EHR record (sex, age today) rules pregnancy out."""

    last_solid_food_at: AwareDatetime = Field(description="When the patient last ate solid food (ISO 8601 with "
                                                          "offset).")
    last_clear_fluids_at: AwareDatetime = Field(description="When the patient last drank clear fluids (ISO 8601 "
                                                            "with offset).")
    ride_home_confirmed: StrictBool
    no_new_contraindication_since_intake: StrictBool
    no_new_interacting_drug_since_intake: StrictBool
    pregnancy_check: PregnancyCheck
    findings: str = Field("", max_length=2000)


class CssrsAnswers(RequestModel):
    """The C-SSRS screener (past month; items 6/6b behaviour): true yes, false no, absent or null not asked (items
    3-5 are asked when item 2 is yes, 6b when 6 is yes). Triage: items 1-2 low, item 3 moderate, items 4-5 or 6b
    high (``cssrs_*_risk_items`` settings)."""

    wish_to_be_dead: StrictBool
    suicidal_thoughts: StrictBool
    ideation_with_method: StrictBool | None = None
    ideation_with_intent: StrictBool | None = None
    ideation_with_plan_and_intent: StrictBool | None = None
    suicidal_behaviour_lifetime: StrictBool
    suicidal_behaviour_past_3_months: StrictBool | None = None


class PreCheck(Step):
    """One pre-infusion check (a recheck is another one); the latest weight is read from the EHR at that moment.

    ``cssrs``: the day's C-SSRS screener (required on the first check of the day while ``pre_check_cssrs_required``;
    a recheck may leave it out). ``site_readiness``: each item of the clinic's checklist (``site_readiness_items``)
    answered true/false (required on the first check; an item not confirmed holds the infusion)."""

    reading: PreCheckReading
    confirmations: PreCheckConfirmations
    cssrs: CssrsAnswers | None = None
    site_readiness: dict[str, StrictBool] | None = Field(None, max_length=50)


class SuicideRiskReview(Step):
    """A clinician's documented review of today's high-risk C-SSRS and every open suicidality alert, before the
    infusion: ``decision`` proceed or do-not-proceed, and a ``note`` (what was assessed, the safety measures)."""

    decision: ReviewDecision
    note: str = Field(min_length=1, max_length=4000)


class RecordVitals(Step, VitalSigns):
    """A flowsheet reading; ``at`` is when it was measured."""

    reading_id: str | None = _record_id("reading")


class RescueMedication(RequestModel):
    """A medication given for an alert: its own MedicationAdministration in the EHR (given at ``at``, by ``by``)."""

    name: str = Field(min_length=1, max_length=200)
    code_system: str = Field("", max_length=200, description="e.g. http://www.nlm.nih.gov/research/umls/rxnorm")
    code: str = Field("", max_length=64)
    dose_value: float = Field(gt=0, le=MAX_RESCUE_DOSE)
    dose_unit: RescueDoseUnit
    route: RescueRoute


class RecordAlertAction(Step):
    """``rate_ml_per_h`` (the new rate) is required for rate-reduced, ``rescue`` for medication-given, ``detail``
    for observed and other. A rate reduction, pause or stop is charted as a pump change too."""

    kind: AlertActionKind
    detail: str = Field("", max_length=2000)
    rate_ml_per_h: float | None = Field(None, gt=0, le=2000)
    rescue: RescueMedication | None = None


class RecordPumpChange(Step):
    """A pump change charted on the flowsheet (``at`` is when): rate-change (with ``rate_ml_per_h``), pause
    (with ``reason``), resume, stop. The administration record's segments follow the charted changes."""

    change_id: str | None = _record_id("pump change")
    kind: PumpChangeKind
    rate_ml_per_h: float | None = Field(None, gt=0, le=2000)
    reason: str = Field("", max_length=2000)


class RecordCadssNotRated(Step):
    """Why a scheduled CADSS timepoint was not rated: ``scheduled_minute`` or ``end_of_recovery``."""

    scheduled_minute: int | None = Field(None, gt=0, le=1440)
    end_of_recovery: StrictBool = False
    reason: str = Field(min_length=1, max_length=2000)


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
    item_scores: list[int] = Field(max_length=23)  # the full CADSS's 23 items at most
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
    rate_ml_per_h: float = Field(gt=0, le=2000)


class Pause(RequestModel):
    paused_at: AwareDatetime
    resumed_at: AwareDatetime
    reason: str = Field(min_length=1, max_length=2000)


class RecordAdministration(Acted):
    """What was given: pump start/stop, the rate from each change on, pauses, lot and expiry. Totals are computed
    from the rates unless entered; the concentration defaults to the order's (mg in the bag's volume).
    ``rate_changes`` and ``pauses`` left empty are taken from the chart (the order's rate from the start, then
    every pump change charted on the flowsheet or as an alert action); when given they must include each charted
    change."""

    started_at: AwareDatetime
    stopped_at: AwareDatetime
    rate_changes: list[RateChange] = Field([], max_length=50)
    pauses: list[Pause] = Field([], max_length=50)
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


class ReviewAdministration(Step):
    """The clinician has reviewed the dose given against the order (beyond the tolerance, ``comment`` says what
    they make of it). Discharge waits for it."""

    comment: str = Field("", max_length=2000)


class Discharge(Step):
    """Refused (409, every failing criterion listed) unless all criteria are met or ``override_reason`` is given;
    open alerts, the administration record and its review, unrated scheduled CADSS, the escort (a responsible
    adult, named, with the relationship) and the instructions cannot be overridden. ``instructions_acknowledged``
    says the clinic's discharge instructions (settings) were given and the patient acknowledged them."""

    mental_status_at_baseline: StrictBool
    escort_present: StrictBool
    escort_name: str = Field("", max_length=200)
    escort_relationship: str = Field("", max_length=100)
    instructions_acknowledged: StrictBool = False
    aldrete: Aldrete | None = None
    override_reason: str = Field("", max_length=2000)
    safety_plan_confirmed: StrictBool = Field(False, description=(
        "A safety plan was reviewed with the patient (crisis contacts, means restriction). Required, and not "
        "overridable, when the day's suicide risk was above low (C-SSRS moderate or high, or a suicidality alert "
        "open at the pre-infusion review)."))


class CompleteFollowUpCall(Step):
    """The next-day call's outcome; ``note`` is required unless the patient was reached and well."""

    outcome: FollowUpOutcome
    note: str = Field("", max_length=2000)


class WitnessIdentity(RequestModel):
    """The second licensed person: a Practitioner (or PractitionerRole) of the EHR, by reference; the name
    recorded beside it is the EHR's (``display`` is not needed, and not used)."""

    reference: str = Field(max_length=100, pattern=r"^(Practitioner|PractitionerRole)/[A-Za-z0-9\-.]{1,64}$")
    display: str = Field("", max_length=200)


class RecordControlledSubstance(Step):
    """The infusion's controlled-substance record: drawn = given + wasted (mg), the waste witnessed by a second
    licensed person (``witness``, a Practitioner of the EHR; not the nurse). ``at`` is when the waste was
    witnessed. The nurse is the signed-in clinician."""

    product: str = Field(min_length=1, max_length=200)
    product_code: str = Field("", max_length=64)
    lot_number: str = Field(min_length=1, max_length=100)
    lot_expiry: date
    drawn_mg: float = Field(gt=0, le=10_000)
    given_mg: float = Field(ge=0, le=10_000)
    wasted_mg: float = Field(ge=0, le=10_000)
    waste_method: str = Field("", max_length=200)
    witness: WitnessIdentity


class DraftNote(Step):
    """Generate the first version of the procedure note from an ended session."""


class EditNote(RequestModel):
    text: str = Field(min_length=1, max_length=100_000)


class SignNote(Step):
    """Sign the draft; the EHR receives the DocumentReference and the signature Provenance. Only a prescriber
    signs, attesting it (``attested``, recorded with the signature)."""

    attested: Attested


class AmendNote(Step):
    """A new draft version that replaces the signed note once it is signed."""

    text: str = Field(min_length=1, max_length=100_000)
