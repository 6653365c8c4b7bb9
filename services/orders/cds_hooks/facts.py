"""The patient's facts for the cards, gathered as the CPOE check gathers them (``handlers/events.py``
``_check_cpoe``): sex, latest weight and height, current medications from the EHR (here: the hook's prefetch, or
the EHR read with the request's token), the intake's eligibility decision and a running series from the orders
service's own store (the same decision and series the CPOE check and order sign use, so a card never disagrees with
them), and the course's open suicidality alerts; beside them what the EHR records that the store may not know yet
(its problem list, its copy of the eligibility decision, ketamine ordered elsewhere: ``ehr_findings.py``). Which draft orders are ketamine orders is decided here too: only
those get cards."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from shared.errors import FieldInputError
from shared.fhir.medication import MedicationShapeError, coded_product
from shared.fhir.reading import validated
from services.orders.cds_hooks.ehr_findings import conditions_from_fhir, ehr_decision_from_fhir, \
    ketamine_orders_from_fhir, pregnancy_status_from_fhir
from services.orders.cds_hooks.context import PatientContext, medications_from_fhir, weight_from_fhir
from services.orders.cds_hooks.prefetch import Resources
from services.orders.handlers import OrdersService
from services.orders.repository import SIGNED_STATUSES
from services.orders.translators.observation_height_in import body_height_from_observation
from services.orders.translators.patient_in import patient_sex


class OpenAlerts(Protocol):
    """The ids of a patient's open suicidality alerts (``bootstrap.open_alert_ids``), read on ``conn`` when given."""

    def __call__(self, patient_id: str, conn: Connection | None = None) -> tuple[str, ...]: ...


def patient_context(patient_id: str, resources: Resources, orders: OrdersService, open_alerts: OpenAlerts,
                    now: datetime, draft_ids: frozenset[str] = frozenset()) -> PatientContext:
    """The weight as the CPOE check reads it, with what the EHR's weights say beside it (``weight_from_fhir``: one
    that cannot be read, a newer one not confirmed); a height or sex that cannot be used counts as missing (the
    weight-basis card says so). The draft orders themselves are not current medications."""
    patient = next(iter(resources.get("patient", [])), None)
    sex = _usable(patient_sex, patient)
    weight, weight_reasons = weight_from_fhir(resources.get("weight", []) + resources.get("newerWeights", []))
    height = _usable(body_height_from_observation, _newest(resources.get("height", [])))
    medications = tuple(m for m in medications_from_fhir(resources.get("medications", []))
                        if m.ehr_id is None or m.ehr_id not in draft_ids)
    with orders.reading() as conn:  # the store's three facts on one connection: one checkout, not three
        stored_orders = orders.patient_orders(patient_id, conn)
        eligibility = orders.patient_eligibility(patient_id, conn)
        open_alert_ids = open_alerts(patient_id, conn)
    signed = [o for o in stored_orders if o.order.status in SIGNED_STATUSES]
    running = next(iter(signed), None)
    known_ids = {o.order.order_id for o in signed} | {o.order.ehr_request_id for o in signed if o.order.ehr_request_id}
    ehr_decision, ehr_decision_reasons = ehr_decision_from_fhir(resources.get("eligibility", []), patient_id)
    return PatientContext(patient_id=patient_id, now=now, weight=weight, height=height, sex=sex,
                          eligibility=eligibility, running_order=running,
                          open_suicidality_alert_ids=open_alert_ids, medications=medications,
                          weight_reasons=weight_reasons,
                          conditions=conditions_from_fhir(resources.get("conditions", []), patient_id)
                          + pregnancy_status_from_fhir(resources.get("pregnancyStatus", []), patient_id),
                          ehr_decision=ehr_decision, ehr_decision_reasons=ehr_decision_reasons,
                          ketamine_elsewhere=ketamine_orders_from_fhir(resources.get("ketamineOrders", []),
                                                                       patient_id, draft_ids, known_ids))


def ketamine_drafts(drafts: tuple[dict[str, Any], ...], selections: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The draft MedicationRequests that order ketamine (at ``order-select``: of the ones just selected). A draft
    whose medication cannot be read is kept when it names ketamine anywhere, so it gets the unreadable card rather
    than no card."""
    chosen = []
    for draft in drafts:
        if draft.get("resourceType") != "MedicationRequest":
            continue
        if selections and f"MedicationRequest/{draft.get('id')}" not in selections:
            continue
        try:  # the product is read from a structurally valid resource only, as the CPOE translator reads it
            ketamine = coded_product(validated(draft, "MedicationRequest"), "MedicationRequest").is_ketamine
        except (FieldInputError, MedicationShapeError):
            ketamine = "ketamine" in json.dumps(draft).lower()
        if ketamine:
            chosen.append(draft)
    return chosen


def _newest(resources: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The template asks for the newest one; an EHR's prefetch may hold more, so the newest is chosen here too."""
    def moment(resource: dict[str, Any]) -> str:
        return str(resource.get("effectiveDateTime") or (resource.get("effectivePeriod") or {}).get("start") or "")
    return max(resources, key=moment) if resources else None


def _usable(translate: Callable[[dict[str, Any]], Any], resource: dict[str, Any] | None) -> Any:
    if resource is None:
        return None
    try:
        return translate(resource)
    except FieldInputError:
        return None
