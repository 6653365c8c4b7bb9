"""What the EHR records about the patient beyond the CPOE check's facts, read from the hook's prefetch (or the EHR
read with the request's token), and the rules the cards apply to it:

- **Contraindications** on the problem list (``conditions``), matched against the clinic's one contraindication
  list (``shared/contraindications.py``, the intake's screen keys with their condition codes). An absolute item counts
  whatever its clinical status (the label items are histories or lasting: a past intracerebral haemorrhage recorded
  as resolved is still one); a relative one while active, recurrent or relapsed. A refuted or entered-in-error
  condition never counts. The EHR's latest pregnancy status Observation (``pregnancyStatus``) is matched by its
  value the same way (SNOMED CT 77386006 pregnant is in the clinic's default list).
- **The EHR's eligibility decision** (``eligibility``: the intake's RiskAssessment as the EHR holds it). The orders
  store's decision stays the one the cards and the CPOE check use; the EHR's may only make the card stricter: when
  the store has none and the EHR's is not eligible, needs review or withdrawn, or when the EHR's is at least as new
  as the store's and worse (withdrawn and not eligible worst, then needs review, then eligible). A decision the EHR
  holds that cannot be read is a reason too (it might be the worse one).
- **Ketamine ordered elsewhere** (``ketamineOrders``): an active or on-hold ketamine MedicationRequest in the EHR that
  the orders service does not hold as a signed series (another prescriber, another system), the hook's drafts
  excluded. Ketalink's own orders (its ``order`` identifier, or the EHR id of a CPOE order it accepted) are the
  running-series card's, not this one's.

Every resource is checked to be the hook's patient's: an EHR whose search ignores a parameter it lacks would
otherwise hand the rules another patient's record."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.contraindications import ACTIVE_CLINICAL_STATUSES, EXCLUDED_VERIFICATION_STATUSES, \
    ContraindicationSettings, contraindication_label, matching_contraindications
from shared.errors import FhirMappingError, FieldInputError, Violation
from shared.fhir.codes import CONDITION_CLINICAL, CONDITION_VERIFICATION, KIND_ORDER, LOINC, Code
from shared.fhir.datatypes import find_identifier, has_coding
from shared.fhir.reading import effective_time
from shared.fhir.vital_signs import USABLE_STATUSES
from shared.fhir.medication import MedicationShapeError, coded_product
from services.orders.domain.eligibility import EligibilityDecision, EligibilityStatus
from services.orders.translators.codes import KETAMINE_ELIGIBILITY
from services.orders.translators.risk_assessment_in import eligibility_from_risk_assessment, \
    withdrawal_from_risk_assessment

ABSOLUTE = "contraindication_absolute"  # the fields of the reasons, one card each
RELATIVE = "contraindication_relative"
EHR_DECISION = "eligibility.ehr"  # on the eligibility card
KETAMINE_ELSEWHERE = "ketamine_orders"
CONDITION_CODES_SETTING = "KETALINK_CONTRAINDICATION_CONDITION_CODES"
# Worse is higher; withdrawn means no decision stands, as strict as not eligible.
SEVERITY = {EligibilityStatus.ELIGIBLE: 0, EligibilityStatus.NEEDS_REVIEW: 1, EligibilityStatus.NOT_ELIGIBLE: 2,
            EligibilityStatus.WITHDRAWN: 2}
ORDER_STATUSES = frozenset({"active", "on-hold"})
PREGNANCY_STATUS = Code(LOINC, "82810-3", "Pregnancy status")
NOT_ORDERS = frozenset({"proposal", "plan", "option"})  # intents that order nothing
_KETAMINE_WORD = re.compile(r"(?<![a-z])ketamine\b", re.IGNORECASE)  # not esketamine (an interaction, not ketamine)


@dataclass(frozen=True)
class EhrCondition:
    """A problem-list Condition, or what the EHR's latest pregnancy status Observation says (its value's codings,
    counted as active: it is the latest)."""

    ehr_id: str | None
    name: str
    codings: tuple[tuple[str, str], ...]  # (system, code)
    clinical_status: str | None
    verification_status: str | None
    resource_type: str = "Condition"
    where: str = "is on the EHR problem list"


@dataclass(frozen=True)
class EhrDecision:
    """The newest eligibility decision the EHR holds: its outcome (withdrawn for a reopened intake's), since when."""

    status: EligibilityStatus
    at: datetime
    intake_id: str


@dataclass(frozen=True)
class EhrKetamineOrder:
    ehr_id: str
    status: str
    authored_on: str | None
    requester: str | None


def _is_patients(resource: dict[str, Any], patient_id: str) -> bool:
    return (resource.get("subject") or {}).get("reference") == f"Patient/{patient_id}"


def conditions_from_fhir(resources: list[dict[str, Any]], patient_id: str) -> tuple[EhrCondition, ...]:
    """The patient's Conditions with every coding (settings match any) and their statuses."""
    found = []
    for resource in resources:
        if resource.get("resourceType") != "Condition" or not _is_patients(resource, patient_id):
            continue
        concept = resource.get("code") or {}
        codings = tuple((c["system"], c["code"]) for c in concept.get("coding") or []
                        if isinstance(c.get("system"), str) and isinstance(c.get("code"), str))
        name = concept.get("text") or next((c.get("display") for c in concept.get("coding") or []
                                            if c.get("display")), None) or "a condition"
        found.append(EhrCondition(resource.get("id"), name, codings,
                                  _status(resource.get("clinicalStatus"), CONDITION_CLINICAL),
                                  _status(resource.get("verificationStatus"), CONDITION_VERIFICATION)))
    return tuple(found)


def pregnancy_status_from_fhir(resources: list[dict[str, Any]], patient_id: str) -> tuple[EhrCondition, ...]:
    """The latest usable pregnancy status Observation (LOINC 82810-3, as US Core records it: a SNOMED CT value such
    as 77386006 pregnant or 60001007 not pregnant) as a finding the contraindication list matches by its value; a
    newer "not pregnant" replaces an older "pregnant"."""
    dated = []
    for resource in resources:
        if (resource.get("resourceType") != "Observation" or not _is_patients(resource, patient_id)
                or resource.get("status") not in USABLE_STATUSES
                or not has_coding(resource.get("code"), PREGNANCY_STATUS)):
            continue
        try:
            dated.append((effective_time(resource), resource))
        except FieldInputError:
            continue  # undated: cannot be the latest
    if not dated:
        return ()
    when, latest = max(dated, key=lambda pair: pair[0])
    value = latest.get("valueCodeableConcept") or {}
    codings = tuple((c["system"], c["code"]) for c in value.get("coding") or []
                    if isinstance(c.get("system"), str) and isinstance(c.get("code"), str))
    name = value.get("text") or next((c.get("display") for c in value.get("coding") or [] if c.get("display")),
                                     None) or "a pregnancy status"
    return (EhrCondition(latest.get("id"), f"pregnancy status {name} of {when.date().isoformat()}", codings,
                         "active", None, "Observation", "is the EHR's latest pregnancy status"),)


def _status(concept: dict[str, Any] | None, system: str) -> str | None:
    return next((c.get("code") for c in (concept or {}).get("coding") or [] if c.get("system") == system), None)


def contraindication_violations(conditions: Iterable[EhrCondition], settings: ContraindicationSettings
                                ) -> list[Violation]:
    """One reason per condition and contraindication it matches (see the module docstring for the statuses)."""
    reasons = []
    for condition in conditions:
        if condition.verification_status in EXCLUDED_VERIFICATION_STATUSES:
            continue
        for entry in matching_contraindications(condition.codings, settings):
            absolute = settings.is_absolute(entry.key)
            if not absolute and condition.clinical_status not in ACTIVE_CLINICAL_STATUSES | {None}:
                continue
            code = next(code for system, code in condition.codings if entry.matches(system, code))
            status = condition.clinical_status or "no clinical status"
            reasons.append(Violation(
                ABSOLUTE if absolute else RELATIVE,
                f"{contraindication_label(entry.key)} ({'absolute' if absolute else 'relative'}): {condition.name} "
                f"({condition.resource_type}/{condition.ehr_id or '?'}, {entry.system}|{code}, {status}) "
                f"{condition.where}; "
                f"matched `{entry.key}:{entry.text}` of `{CONDITION_CODES_SETTING}`"))
    return reasons


def ehr_decision_from_fhir(resources: list[dict[str, Any]], patient_id: str
                           ) -> tuple[EhrDecision | None, tuple[Violation, ...]]:
    """The newest Ketalink eligibility decision the EHR holds for the patient (a withdrawn one dated when it was
    withdrawn), read by the orders service's own translators; the reasons name one that cannot be read."""
    decisions, reasons = [], []
    for resource in resources:
        if (resource.get("resourceType") != "RiskAssessment" or not _is_patients(resource, patient_id)
                or not has_coding(resource.get("code"), KETAMINE_ELIGIBILITY)
                or resource.get("status") == "entered-in-error"):
            continue
        try:
            if resource.get("status") == "cancelled":
                withdrawal = withdrawal_from_risk_assessment(resource)
                decisions.append(EhrDecision(EligibilityStatus.WITHDRAWN, withdrawal.withdrawn_at,
                                             withdrawal.intake_id))
            elif resource.get("status") in ("final", "amended", "corrected"):
                decision = eligibility_from_risk_assessment(resource)
                decisions.append(EhrDecision(decision.status, decision.decided_at, decision.intake_id))
        except (FhirMappingError, FieldInputError) as error:
            reasons.append(Violation(EHR_DECISION, f"the EHR holds an eligibility decision that cannot be read "
                                                   f"(RiskAssessment/{resource.get('id')}: {error})"[:300]))
    return max(decisions, key=lambda d: (d.at, SEVERITY[d.status]), default=None), tuple(reasons)


def ehr_decision_violations(store: EligibilityDecision | None, ehr: EhrDecision | None) -> list[Violation]:
    """The EHR's decision as a reason when it is stricter than the store's (see the module docstring)."""
    if ehr is None or (store is None and ehr.status is EligibilityStatus.ELIGIBLE):
        return []  # no EHR decision, or an eligible one where the store's "no decision" reason already stands
    if store is not None and (ehr.at < store.decided_at or SEVERITY[ehr.status] <= SEVERITY[store.status]):
        return []
    since = "" if store is None else f", newer than the {store.status.value} decision the orders service holds"
    return [Violation(EHR_DECISION, f"the EHR records the intake's decision as {ehr.status.value.replace('-', ' ')} "
                                    f"(intake {ehr.intake_id}, {ehr.at.isoformat()}{since})")]


def ketamine_orders_from_fhir(resources: list[dict[str, Any]], patient_id: str, draft_ids: Iterable[str],
                              known_ids: Iterable[str]) -> tuple[EhrKetamineOrder, ...]:
    """The patient's active or on-hold ketamine orders in the EHR that are neither a draft of this hook nor an
    order the orders service holds as a signed series (``known_ids``: its order ids and accepted CPOE order ids)."""
    drafts, known = set(draft_ids), set(known_ids)
    found = []
    for resource in resources:
        if (resource.get("resourceType") != "MedicationRequest" or not _is_patients(resource, patient_id)
                or resource.get("status") not in ORDER_STATUSES or resource.get("intent") in NOT_ORDERS
                or resource.get("id") in drafts or resource.get("id") in known
                or find_identifier(resource, KIND_ORDER) in known or not is_ketamine(resource)):
            continue
        requester = resource.get("requester") or {}
        found.append(EhrKetamineOrder(resource.get("id") or "?", resource["status"], resource.get("authoredOn"),
                                      requester.get("display") or requester.get("reference")))
    return tuple(found)


def is_ketamine(resource: dict[str, Any]) -> bool:
    """Ketamine by the coded product (as the CPOE translator reads it) or by name, so an order from another system
    that codes it differently is still seen; esketamine is not ketamine here (it is an interacting drug)."""
    try:
        if coded_product(resource, "MedicationRequest").is_ketamine:
            return True
    except MedicationShapeError:
        pass
    concept = resource.get("medicationCodeableConcept") or {}
    names = [concept.get("text"), (resource.get("medicationReference") or {}).get("display")]
    names += [c.get("display") for c in concept.get("coding") or []]
    # A contained Medication's code only: another contained resource's code may be a plain code, not a concept.
    names += [(m.get("code") or {}).get("text") for m in resource.get("contained") or []
              if isinstance(m, dict) and m.get("resourceType") == "Medication"]
    return any(isinstance(name, str) and _KETAMINE_WORD.search(name) for name in names)


def ketamine_elsewhere_violations(orders: Iterable[EhrKetamineOrder]) -> list[Violation]:
    return [Violation(KETAMINE_ELSEWHERE, f"MedicationRequest/{order.ehr_id} ({order.status}, authored "
                                          f"{order.authored_on or 'unknown'}, by {order.requester or 'unknown'}) "
                                          "orders ketamine and is not a Ketalink series: two ketamine orders could "
                                          "both be given")
            for order in orders]
