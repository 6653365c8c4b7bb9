"""The typed inputs of the intake's service layer (``handlers.IntakeService``): the request bodies of the JSON API
(pydantic; unknown fields refused), each turning itself into domain values, and the commands the API and the
clinician pages build from them (plain dataclasses, so the handlers know nothing of Flask or pydantic).

Bodies check shape and types only (strict: "3" is not a score, 1 is not true); the clinical rules (score ranges,
required items, plausible vitals, skip logic) stay in the domain, which names the field that breaks one.
Times are optional and default to the moment the server records the part; given times must carry a timezone.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, Field, Strict, StrictBool, StrictInt, StringConstraints, model_validator

from services.intake.domain.consent import ConsentDecision, ConsentRecord, ConsentSigner
from services.intake.domain.contraindications import ContraindicationAnswer, Presence
from services.intake.domain.cssrs import CssrsItem
from services.intake.domain.overrides import ClinicianOverride, OverrideTarget
from services.intake.domain.reviews import ReviewOutcome
from services.intake.domain.trials import AntidepressantTrial
from services.intake.domain.vitals import BaselineVitals, BloodPressure, VitalReading
from shared.api import RequestModel
from shared.people import Person
from shared.roles import Attested

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # a FHIR resource id (EHR Patient, ServiceRequest)
FhirId = Annotated[str, StringConstraints(pattern=f"^{FHIR_ID.pattern}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]  # a name (display text)
ClinicianReference = Annotated[str, StringConstraints(
    pattern=r"^(Practitioner|PractitionerRole)/[A-Za-z0-9\-.]{1,64}$")]
TYPED_NAME = Field(None, description="Who, by name: read only where SMART is off (local runs). Otherwise the signed-in "
                                     "clinician (the token's fhirUser) is recorded, whatever this says.")
Text = Annotated[str, StringConstraints(max_length=2000)]
ElementKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=100)]
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]


class Acted(RequestModel):
    """A body of a clinician's act: who acts comes from the request's SMART context (``shared.roles.acting_person``);
    its name field is read only where SMART is off."""

    on_behalf_of: ClinicianReference | None = Field(
        None, description="Only for a backend client (a token without fhirUser): the clinician it acts for, "
                          "Practitioner/<id>, which must exist in the EHR; a clinician's own token may not name "
                          "anyone else (403).")


class CreateIntake(Acted):
    """Start an intake. With ``referral_id`` (the EHR ServiceRequest id) the intake is the referral's: the same one
    the referral event starts, so asking twice or after the event returns it instead of a second intake."""

    patient_id: FhirId
    started_by: Name | None = TYPED_NAME
    referral_id: FhirId | None = None


class Trial(RequestModel):
    drug_name: Name
    dose_text: Text | None = None
    duration_weeks: Number
    adequate_dose: StrictBool
    improvement_pct: Number
    current_episode: StrictBool

    def to_domain(self) -> AntidepressantTrial:
        return AntidepressantTrial(self.drug_name, self.dose_text, self.duration_weeks, self.adequate_dose,
                                   self.improvement_pct, self.current_episode)


class Trials(RequestModel):
    """The confirmed TRD history; replaces the previous list (an empty list records "no prior trials")."""

    trials: list[Trial] = Field(max_length=50)

    def to_domain(self) -> list[AntidepressantTrial]:
        return [trial.to_domain() for trial in self.trials]


class ContraindicationAnswerIn(RequestModel):
    key: Name
    presence: Presence
    note: Text | None = None


class Contraindications(Acted):
    """The screen; keys are the clinic's configured items (GET /intakes/<id> lists those not answered)."""

    answers: list[ContraindicationAnswerIn] = Field(max_length=100)
    screened_by: Name | None = TYPED_NAME
    screened_at: AwareDatetime | None = None

    def to_domain(self) -> list[ContraindicationAnswer]:
        return [ContraindicationAnswer(a.key, a.presence, a.note) for a in self.answers]


class Reading(RequestModel):
    value: Number
    measured_at: AwareDatetime | None = None

    def to_domain(self, now: datetime) -> VitalReading:
        return VitalReading(self.value, self.measured_at or now)


class BloodPressureIn(RequestModel):
    systolic_mmhg: Number
    diastolic_mmhg: Number
    measured_at: AwareDatetime | None = None

    def to_domain(self, now: datetime) -> BloodPressure:
        return BloodPressure(self.systolic_mmhg, self.diastolic_mmhg, self.measured_at or now)


class Vitals(RequestModel):
    """Baseline readings; each one given replaces the earlier reading of that measure (also one from the EHR)."""

    blood_pressure: BloodPressureIn | None = None
    heart_rate_per_min: Reading | None = None
    spo2_pct: Reading | None = None
    respiratory_rate_per_min: Reading | None = None
    weight_kg: Reading | None = None
    height_cm: Reading | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> "Vitals":
        if not self.model_fields_set:
            raise ValueError("give at least one reading")
        return self

    def to_domain(self, now: datetime) -> BaselineVitals:
        readings = {name: getattr(self, name).to_domain(now) for name in type(self).model_fields
                    if getattr(self, name) is not None}
        return BaselineVitals(**readings)


class Phq9(RequestModel):
    """Items 1-9 in order, each 0-3 (the total is computed, never entered)."""

    items: list[StrictInt | None] = Field(max_length=20)
    answered_at: AwareDatetime | None = None


class Madrs(Acted):
    """Items 1-10 in order, each 0-6."""

    items: list[StrictInt | None] = Field(max_length=20)
    rated_at: AwareDatetime | None = None
    rated_by: Name | None = TYPED_NAME


def _cssrs_answer(item: CssrsItem) -> object:
    return Field(default=None, alias=item.value)


class CssrsAnswers(RequestModel):
    """Yes (true) / no (false) by screener item; leave out (or null) the items the skip logic did not ask."""

    wish_to_be_dead: StrictBool | None = _cssrs_answer(CssrsItem.WISH_TO_BE_DEAD)
    suicidal_thoughts: StrictBool | None = _cssrs_answer(CssrsItem.SUICIDAL_THOUGHTS)
    ideation_with_method: StrictBool | None = _cssrs_answer(CssrsItem.IDEATION_WITH_METHOD)
    ideation_with_intent: StrictBool | None = _cssrs_answer(CssrsItem.IDEATION_WITH_INTENT)
    ideation_with_plan_and_intent: StrictBool | None = _cssrs_answer(CssrsItem.IDEATION_WITH_PLAN_AND_INTENT)
    suicidal_behaviour_lifetime: StrictBool | None = _cssrs_answer(CssrsItem.SUICIDAL_BEHAVIOUR_LIFETIME)
    suicidal_behaviour_past_3_months: StrictBool | None = _cssrs_answer(CssrsItem.SUICIDAL_BEHAVIOUR_PAST_3_MONTHS)

    def to_domain(self) -> dict[str, bool | None]:
        return self.model_dump(by_alias=True)


class Cssrs(RequestModel):
    answers: CssrsAnswers
    answered_at: AwareDatetime | None = None


class Consent(RequestModel):
    decision: ConsentDecision
    signed_by: ConsentSigner
    signer_name: Name | None = None  # required for a legal representative
    signed_at: AwareDatetime | None = None
    consent_text_version: Name
    ride_home_agreed: StrictBool
    # The clinic's consent element keys explained and acknowledged (GET /intakes/<id> lists them as
    # ``consent_elements``); consent is complete only when every one is here.
    elements_acknowledged: list[ElementKey] = Field(default_factory=list, max_length=50)

    def to_domain(self, now: datetime) -> ConsentRecord:
        return ConsentRecord(self.decision, self.signed_by, self.signer_name, self.signed_at or now,
                             self.consent_text_version, self.ride_home_agreed, tuple(self.elements_acknowledged))


class CssrsReview(Acted):
    """A behavioural-health review of the current moderate- or high-risk C-SSRS screen. Who reviewed is the signed-in
    clinician; ``reviewed_by`` is used only where there is no sign-in (local runs with SMART off)."""

    outcome: ReviewOutcome
    note: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    reviewed_by: Name | None = TYPED_NAME


class UrgentUse(Acted):
    """A prescriber sets the TRD rule aside for urgent use; the reason is documented (e.g. acute suicidal
    ideation). Who is the signed-in prescriber; ``overridden_by`` only where there is no sign-in."""

    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    overridden_by: Name | None = TYPED_NAME


class Override(Acted):
    """A documented override of a relative contraindication (key) or a flagged interacting drug class (class)."""

    target: OverrideTarget
    key: Name
    overridden_by: Name | None = TYPED_NAME
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]

    def to_domain(self, now: datetime, actor: Person) -> ClinicianOverride:
        return ClinicianOverride(self.target, self.key, actor, now, self.reason)


class Decide(Acted):
    decided_by: Name | None = TYPED_NAME
    attested: Attested  # a prescriber's statement (shared/roles.py ATTESTATIONS), recorded with the decision


class Reopen(Acted):
    reopened_by: Name | None = TYPED_NAME
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


# --- commands: what the service layer is asked to do; times are resolved by the caller (given, or the clock's now) ---
@dataclass(frozen=True)
class StartIntake:
    """A new intake for ``patient_id``, pre-filled from the EHR; with ``referral_id`` the intake is that referral's."""

    patient_id: str
    started_by: Person
    referral_id: str | None = None


@dataclass(frozen=True)
class RecordTrials:
    intake_id: str
    trials: Sequence[AntidepressantTrial]


@dataclass(frozen=True)
class RecordContraindications:
    intake_id: str
    answers: Sequence[ContraindicationAnswer]
    screened_by: Person
    screened_at: datetime


@dataclass(frozen=True)
class RecordVitals:
    intake_id: str
    vitals: BaselineVitals


@dataclass(frozen=True)
class RecordPhq9:
    intake_id: str
    items: Sequence[int | None]
    answered_at: datetime


@dataclass(frozen=True)
class RecordMadrs:
    intake_id: str
    items: Sequence[int | None]
    rated_at: datetime
    rated_by: Person | None


@dataclass(frozen=True)
class RecordCssrs:
    intake_id: str
    answers: Mapping[str, bool | None]
    answered_at: datetime


@dataclass(frozen=True)
class RecordCssrsReview:
    """The behavioural-health review of the current C-SSRS screen, by the signed-in clinician, now."""

    intake_id: str
    outcome: str
    note: str
    reviewed_by: Person


@dataclass(frozen=True)
class RecordUrgentUse:
    """A prescriber's urgent-use override of the TRD rule; ``prescriber_checked`` says whether the caller could
    check the role (shared/roles.py)."""

    intake_id: str
    reason: str
    overridden_by: Person
    prescriber_checked: bool


@dataclass(frozen=True)
class RecordConsent:
    intake_id: str
    consent: ConsentRecord


@dataclass(frozen=True)
class RecordOverride:
    intake_id: str
    override: ClinicianOverride


@dataclass(frozen=True)
class DecideEligibility:
    """Decide; the caller has checked the prescriber's role, and ``attestation`` is kept with the decision."""

    intake_id: str
    decided_by: Person
    attestation: str = ""


@dataclass(frozen=True)
class ReopenIntake:
    intake_id: str
    reopened_by: Person
    reason: str
