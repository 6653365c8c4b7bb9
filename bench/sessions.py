"""Infusion sessions in the documentation service, ready for vitals: an ``order-signed`` message per patient (as
the orders service publishes it), then each patient's first session checked in, pre-checked and started over HTTP.
Both the EHR vitals path and the vitals API need a session that is infusing."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import requests

from bench.inbound import BenchError, Publisher
from bench.population import BenchPatient
from bench.watch import wait_until
from services.orders.domain.dose import calculate_dose
from services.orders.domain.eligibility import EligibilityDecision, EligibilityStatus
from services.orders.domain.lifecycle import create_order, sign_order
from services.orders.domain.measurements import BodyWeight
from services.orders.domain.series import plan_induction
from services.orders.domain.settings import ProtocolSettings
from services.orders.translators.message_out import order_event_code, order_message_resources
from shared.events.topics import ORDERS_EVENTS
from shared.fhir.datatypes import FhirJson
from shared.fhir.messaging import build_message
from shared.people import Person
from tests.integration.documentation.clinic import cssrs, site_ready
from tests.support.clinic_zone import clinic_zone_of_the_tests

PRESCRIBER = Person(None, "Dr Bench Prescriber")  # as orders records a prescriber where SMART is off
NURSE = "RN Bench"


@dataclass(frozen=True)
class InfusingSession:
    patient_id: str
    session_id: str
    started_at: datetime  # the infusion start; readings go after it


def signed_order_message(patient: BenchPatient, now: datetime) -> tuple[str, FhirJson]:
    """(order id, ``order-signed`` message) for a 6-infusion induction from today, as orders would send it."""
    protocol = ProtocolSettings(clinic_timezone=clinic_zone_of_the_tests())  # the services' zone: "today"
    weight = BodyWeight(patient.weight_kg, now - timedelta(days=1), patient.weight_observation_id)
    eligibility = EligibilityDecision(patient.patient_id, f"intake-{uuid.uuid4()}", EligibilityStatus.ELIGIBLE, True,
                                      now - timedelta(days=3))
    series = plan_induction(patient.patient_id, protocol.clinic_date(now), protocol, now=now)
    draft = create_order(patient.patient_id, eligibility, calculate_dose(weight, None, None, protocol, now=now),
                         series, PRESCRIBER, protocol, now=now)
    placed = sign_order(draft, eligibility, PRESCRIBER, protocol, now=now)
    resources = order_message_resources(placed.order, placed.series, patient.patient_id,
                                        f"Observation/{patient.weight_observation_id}", protocol.clinic_timezone)
    return placed.order.order_id, build_message(order_event_code(placed.order), "urn:ketalink:orders", resources,
                                                author=PRESCRIBER)


def start_sessions(base_url: str, publisher: Publisher, patients: list[BenchPatient],
                   timeout_s: float = 60.0) -> list[InfusingSession]:
    """Publish the orders, wait for the sessions, and start each patient's first infusion 50 minutes ago."""
    now = datetime.now(timezone.utc)
    orders = {p.patient_id: signed_order_message(p, now) for p in patients}
    publisher.send(ORDERS_EVENTS, [(patient_id, message) for patient_id, (_, message) in orders.items()])
    http = requests.Session()
    waiting = set(orders)

    def all_scheduled() -> bool:
        for patient_id in list(waiting):
            listed = http.get(f"{base_url}/patients/{patient_id}/sessions", timeout=10).json()["sessions"]
            if len(listed) == 6:
                waiting.discard(patient_id)
        return not waiting

    if not wait_until(all_scheduled, timeout_s, interval_s=0.2):
        raise BenchError(f"documentation scheduled no sessions for {len(waiting)} of {len(orders)} orders")
    start = (now - timedelta(minutes=60)).replace(microsecond=0)
    started = []
    for patient_id, (order_id, _) in orders.items():
        session = f"{base_url}/sessions/{order_id}-1"
        steps = [("check-in", {"by": NURSE, "at": _iso(start)}),
                 ("pre-check", {"by": NURSE, "at": _iso(start + timedelta(minutes=5)), "reading": {
                     "systolic_mmhg": 124, "diastolic_mmhg": 78, "heart_rate_per_min": 72, "spo2_percent": 98,
                     "respiratory_rate_per_min": 14, "rass_score": 0},  # every reading the pre-check requires
                     "confirmations": {"last_solid_food_at": _iso(start - timedelta(hours=8)),
                                       "last_clear_fluids_at": _iso(start - timedelta(hours=3)),
                                       "ride_home_confirmed": True,
                                       "no_new_contraindication_since_intake": True,
                                       "no_new_interacting_drug_since_intake": True,
                                       "pregnancy_check": "negative"},
                     "cssrs": cssrs(), "site_readiness": site_ready()}),  # the day's C-SSRS, the site's checklist
                 ("start", {"by": NURSE, "at": _iso(start + timedelta(minutes=10))})]
        for step, body in steps:
            answer = http.post(f"{session}/{step}", json=body, timeout=30)
            if answer.status_code != 200:
                raise BenchError(f"session {step}: HTTP {answer.status_code}: {answer.text[:300]}")
        started.append(InfusingSession(patient_id, f"{order_id}-1", start + timedelta(minutes=10)))
    return started


def vitals_body(at: datetime, n: int) -> dict:
    """A normal flowsheet reading (no alert), measured at ``at``."""
    return {"by": NURSE, "at": _iso(at), "systolic_mmhg": 120 + n % 15, "diastolic_mmhg": 76 + n % 8,
            "heart_rate_per_min": 70 + n % 12, "spo2_percent": 98, "reading_id": f"bench-{uuid.uuid4().hex[:12]}"}


def _iso(moment: datetime) -> str:
    return moment.isoformat()
