"""What the CDS Hooks cards are decided from: the patient's facts (as the orders domain holds them, read from the
prefetch or the EHR by the hook's glue) and the settings of the cards themselves.

The facts are the same ones the CPOE check is given (``handlers/events.py`` ``_check_cpoe``): the latest weight,
height and sex, the intake's eligibility decision and a signed series already running; plus the course's open
suicidality alerts, which the CPOE check does not see but a prescriber must before signing, and the medications the
patient takes now (the intake screened them when it decided; one started since is checked again at order entry).
Contraindications screened by the intake reach orders through the eligibility decision (not eligible, or needs a
clinician's review); the EHR's problem list, its copy of the decision and ketamine ordered elsewhere are read too
(``ehr_findings.py``), so what the EHR recorded after the intake decided is seen at order entry."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.contraindications import ContraindicationSettings
from shared.errors import FieldInputError, Violation
from shared.fhir.reading import effective_time
from shared.fhir.vital_signs import USABLE_STATUSES
from services.orders.cds_hooks.ehr_findings import EhrCondition, EhrDecision, EhrKetamineOrder
from services.orders.domain.eligibility import EligibilityDecision
from services.orders.domain.interactions import CurrentMedication
from services.orders.domain.measurements import BodyHeight, BodyWeight, Sex
from services.orders.domain.order import OrderWithSeries
from services.orders.domain.settings import ProtocolSettings
from services.orders.translators.observation_weight_in import body_weight_from_observation

# Ketalink's own code systems for the cards (documented in the orders README, "CDS Hooks cards").
CARD_TOPIC_SYSTEM = "https://ketalink.example.org/fhir/CodeSystem/cds-card-topic"
OVERRIDE_REASON_SYSTEM = "https://ketalink.example.org/fhir/CodeSystem/cds-override-reason"


@dataclass(frozen=True)
class PatientContext:
    """The patient's facts at the moment of the hook; ``now`` is when the hook was called."""

    patient_id: str
    now: datetime
    weight: BodyWeight | None = None
    height: BodyHeight | None = None
    sex: Sex | None = None
    eligibility: EligibilityDecision | None = None
    running_order: OrderWithSeries | None = None  # a signed series (active or on hold) of this patient
    open_suicidality_alert_ids: tuple[str, ...] = ()
    medications: tuple[CurrentMedication, ...] = ()  # what the patient takes now (``medications_from_fhir``)
    weight_reasons: tuple[Violation, ...] = ()  # what reading the EHR's weights found (``weight_from_fhir``)
    conditions: tuple[EhrCondition, ...] = ()  # the EHR's problem list (``ehr_findings.py``)
    ehr_decision: EhrDecision | None = None  # the newest eligibility decision the EHR holds
    ehr_decision_reasons: tuple[Violation, ...] = ()  # an EHR decision that cannot be read
    ketamine_elsewhere: tuple[EhrKetamineOrder, ...] = ()  # active ketamine orders the orders service does not hold


@dataclass(frozen=True)
class CardSettings:
    """``protocol``: the orders domain's own settings (one source of truth); ``protocol_url``: where the clinic's
    protocol is published (each card's ``source.url``); ``app_launch_url``: the orders app's SMART launch URL (the
    SMART link of every card, ``<public base URL>/launch`` by default in the service's wiring);
    ``contraindications``: the clinic's one contraindication list, the intake's (``shared/contraindications.py``)."""

    protocol: ProtocolSettings
    app_launch_url: str
    protocol_url: str = ""
    contraindications: ContraindicationSettings = field(default_factory=ContraindicationSettings)
    source_label: str = "Ketalink clinic ketamine protocol"
    override_reasons: tuple[tuple[str, str], ...] = field(default=(
        ("clinician-reviewed", "Reviewed by the prescriber: clinically appropriate for this patient"),
        ("ehr-data-outdated", "The EHR's data shown is out of date; corrected before the infusion"),
        ("discussed-with-psychiatrist", "Discussed with the clinic's supervising psychiatrist"),
    ))

    def validate(self) -> None:
        if not self.app_launch_url.startswith(("https://", "http://")):
            raise ValueError("app_launch_url must be an http(s) URL")
        if self.protocol_url and not self.protocol_url.startswith(("https://", "http://")):
            raise ValueError("protocol_url must be an http(s) URL or empty")
        if not self.override_reasons:
            raise ValueError("override_reasons must name at least one reason (critical cards need them)")
        self.contraindications.validate()


# Statuses that mean the patient takes (or may take) the drug now; "unknown" counts, as in the intake's screen.
CURRENT_STATUSES = {"MedicationRequest": frozenset({"active", "on-hold", "unknown"}),
                    "MedicationStatement": frozenset({"active", "intended", "on-hold", "unknown"})}


def medications_from_fhir(resources: list[dict[str, Any]], exclude_id: str | None = None
                          ) -> tuple[CurrentMedication, ...]:
    """The current medications among the prefetch's (or the EHR's) MedicationRequests and MedicationStatements,
    named by the concept's text or first display and coded by every coding; ``exclude_id`` is the draft itself."""
    medications = []
    for resource in resources:
        statuses = CURRENT_STATUSES.get(resource.get("resourceType", ""))
        if statuses is None or resource.get("status") not in statuses or resource.get("id") == exclude_id:
            continue
        concept = resource.get("medicationCodeableConcept") or _referenced_code(resource)
        codings = [c for c in concept.get("coding") or [] if c.get("code")]
        name = concept.get("text") or next((c["display"] for c in codings if c.get("display")), None) or \
            (resource.get("medicationReference") or {}).get("display")
        if name or codings:
            medications.append(CurrentMedication(name or "", tuple(f"{c.get('system')}|{c['code']}" for c in codings),
                                                 resource.get("id")))
    return tuple(medications)


def _referenced_code(resource: dict[str, Any]) -> dict[str, Any]:
    """The code of a contained Medication the resource references (``#id``); {} otherwise (another contained
    resource's ``code`` may be a plain code, not a concept)."""
    target = (resource.get("medicationReference") or {}).get("reference", "")
    for contained in resource.get("contained") or []:
        if target.startswith("#") and contained.get("resourceType") == "Medication" and \
                contained.get("id") == target[1:]:
            return contained.get("code") or {}
    return {}


UNCONFIRMED_WEIGHT = "weight_unconfirmed"  # the field of the reason a newer weight is not yet confirmed


def weight_from_fhir(observations: list[dict[str, Any]]) -> tuple[BodyWeight | None, tuple[Violation, ...]]:
    """The weight the CPOE check would use (``ehr_reads.read_patient_facts``: the latest final, amended or corrected
    body weight Observation, read by the same translator) and the reasons about the EHR's weights: one that cannot
    be read (fields under ``weight.``, as the CPOE handler refuses it), and a newer weight not confirmed (preliminary,
    registered), which the dose does not use."""
    dated = [(when, o) for o in observations if (when := _measured_at(o)) is not None]
    usable = [(when, o) for when, o in dated if o.get("status") in USABLE_STATUSES]
    latest = max(usable, key=lambda pair: pair[0], default=None)
    weight, reasons = None, []
    if latest is not None:
        try:
            weight = body_weight_from_observation(latest[1])
        except FieldInputError as error:
            reasons += error.under("weight").violations
    newer = [(when, o) for when, o in dated if o.get("status") not in USABLE_STATUSES + ("entered-in-error",
                                                                                      "cancelled")
             and (latest is None or when > latest[0])]
    if newer:
        when, observation = max(newer, key=lambda pair: pair[0])
        used = "no confirmed weight" if latest is None else f"the confirmed weight of {latest[0].date().isoformat()}"
        reasons.append(Violation(UNCONFIRMED_WEIGHT, f"a newer body weight ({when.date().isoformat()}) is "
                                                     f"{observation.get('status')}, not confirmed: the dose uses "
                                                     f"{used}; confirm or correct it in the EHR"))
    return weight, tuple(reasons)


def _measured_at(observation: dict[str, Any]) -> datetime | None:
    try:
        return effective_time(observation)
    except FieldInputError:
        return None
