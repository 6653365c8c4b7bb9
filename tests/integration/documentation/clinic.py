"""What the documentation tests do over the wire: publish orders as the orders service does, drive a session over
HTTP with explicit clinical times, and look resources up in the EHR by their Ketalink identifier."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import requests

from deploy.ehr_sandbox.seed import MRN_SYSTEM, SEED_SYSTEM
from services.documentation.domain.settings import SessionSettings
from services.orders.domain.dose import calculate_dose
from services.orders.domain.eligibility import EligibilityDecision, EligibilityStatus
from services.orders.domain.lifecycle import cancel_order, create_order, sign_order
from services.orders.domain.measurements import BodyWeight
from services.orders.domain.order import OrderWithSeries
from services.orders.domain.series import plan_induction
from services.orders.domain.settings import ProtocolSettings
from services.orders.translators.message_out import order_event_code, order_message_resources
from shared.events.topics import DOCUMENTATION_EVENTS, ORDERS_EVENTS
from shared.fhir.codes import BODY_WEIGHT
from shared.fhir.datatypes import FhirJson, identifier, parse_instant
from shared.fhir.messaging import Message, build_message
from shared.people import Person
from tests.support.clinic_zone import clinic_zone_of_the_tests
from tests.support.kafka_tools import publish, read_messages, wait_for

PRESCRIBER = "Dr Ada Prescriber"
ORDERS_PRESCRIBER = Person(None, PRESCRIBER)  # as the orders service records a prescriber where SMART is off
NURSE = "RN Dana Hill"
DOCTOR = "Dr Sam Okafor"
ORDERS_ENDPOINT = "urn:ketalink:orders"


@dataclass
class PublishedOrder:
    placed: OrderWithSeries
    patient_id: str
    weight_kg: float
    message: FhirJson

    @property
    def order_id(self) -> str:
        return self.placed.order.order_id

    def session_id(self, number: int = 1) -> str:
        return f"{self.order_id}-{number}"


class Clinic:
    def __init__(self, base_url: str, bootstrap: str, ehr: Any):
        self.base_url = base_url
        self.bootstrap = bootstrap
        self.ehr = ehr

    # --- the EHR ------------------------------------------------------------------------------------------------
    def witness(self) -> dict[str, str]:
        return seeded_witness(self.ehr.client)

    def patient_id(self, mrn: str = "KL-1001") -> str:
        return self.ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|{mrn}"})[0]["id"]

    def latest_weight(self, patient_id: str) -> FhirJson:
        return self.ehr.client.search("Observation", {
            "subject": f"Patient/{patient_id}", "code": f"{BODY_WEIGHT.system}|{BODY_WEIGHT.code}",
            "_sort": "-date", "_count": 1})[0]

    def in_ehr(self, resource_type: str, kind: str, value: str, timeout_s: float = 30.0,
               until: Any = None) -> FhirJson:
        """The EHR's resource carrying the Ketalink identifier (and passing ``until``), waiting for the message."""
        ident = identifier(kind, value)

        def found() -> FhirJson | None:
            matches = self.ehr.client.search(resource_type, {"identifier": f"{ident['system']}|{value}"})
            assert len(matches) <= 1, f"{len(matches)} {resource_type} resources carry {kind}|{value}"
            if matches and (until is None or until(matches[0])):
                return matches[0]
            return None

        return wait_for(found, timeout_s=timeout_s, what=f"{resource_type} {kind}|{value} in the EHR")

    # --- orders, as the orders service publishes them ------------------------------------------------------------
    def publish_signed_order(self, mrn: str = "KL-1001") -> PublishedOrder:
        """A realistic induction order (6 infusions, 2 a week from today) for the patient's EHR weight."""
        patient_id = self.patient_id(mrn)
        weight_observation = self.latest_weight(patient_id)
        weight_kg = float(weight_observation["valueQuantity"]["value"])
        protocol = ProtocolSettings(clinic_timezone=clinic_zone_of_the_tests())  # the services' zone: "today"
        now = datetime.now(timezone.utc)
        weight = BodyWeight(weight_kg, parse_instant(weight_observation["effectiveDateTime"]),
                            weight_observation["id"])
        eligibility = EligibilityDecision(patient_id, f"intake-{uuid.uuid4()}", EligibilityStatus.ELIGIBLE, True,
                                          now - timedelta(days=3))
        series = plan_induction(patient_id, protocol.clinic_date(now), protocol, now=now)
        draft = create_order(patient_id, eligibility, calculate_dose(weight, None, None, protocol, now=now), series,
                             ORDERS_PRESCRIBER, protocol, now=now)
        placed = sign_order(draft, eligibility, ORDERS_PRESCRIBER, protocol, now=now)
        published = PublishedOrder(placed, patient_id, weight_kg, self.publish_order(placed, patient_id,
                                                                                     weight_observation["id"]))
        return published

    def publish_order(self, placed: OrderWithSeries, patient_id: str, weight_observation_id: str) -> FhirJson:
        resources = order_message_resources(placed.order, placed.series, patient_id,
                                            f"Observation/{weight_observation_id}", clinic_zone_of_the_tests())
        message = build_message(order_event_code(placed.order), ORDERS_ENDPOINT, resources,
                                author=ORDERS_PRESCRIBER)
        self.send(ORDERS_EVENTS, message, patient_id)
        return message

    def cancel_order(self, order: PublishedOrder) -> FhirJson:
        cancelled = cancel_order(order.placed, ORDERS_PRESCRIBER, "patient declined further infusions")
        weight_id = order.message["entry"][1]["resource"]["supportingInformation"][0]["reference"].split("/")[-1]
        return self.publish_order(cancelled, order.patient_id, weight_id)

    def send(self, topic: str, message: FhirJson | bytes, key: str) -> None:
        publish(self.bootstrap, topic, message, key=key)

    def documentation_messages(self, event_code: str) -> list[Message]:
        return [m for m in read_messages(self.bootstrap, DOCUMENTATION_EVENTS) if m.event_code == event_code]

    # --- the documentation API -------------------------------------------------------------------------------
    def get(self, path: str, expect: int = 200) -> Any:
        response = requests.get(self.base_url + path, timeout=10)
        assert response.status_code == expect, f"GET {path}: {response.status_code} {response.text}"
        return response.json()

    def call(self, method: str, path: str, body: dict[str, Any], expect: int = 200,
             headers: dict[str, str] | None = None) -> Any:
        response = requests.request(method, self.base_url + path, json=body, headers=headers, timeout=30)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def post(self, path: str, body: dict[str, Any], expect: int = 200, **kwargs: Any) -> Any:
        return self.call("POST", path, body, expect, **kwargs)

    def sessions(self, patient_id: str, order_id: str) -> list[dict[str, Any]]:
        listed = self.get(f"/patients/{patient_id}/sessions")["sessions"]
        return [s for s in listed if s["order_id"] == order_id]

    def wait_for_sessions(self, order: PublishedOrder, count: int = 6) -> list[dict[str, Any]]:
        return wait_for(lambda: len(self.sessions(order.patient_id, order.order_id)) == count
                        and self.sessions(order.patient_id, order.order_id),
                        timeout_s=45, what=f"{count} sessions for order {order.order_id}")


def clinical_times(hours_ago: float = 3) -> Any:
    """``t(minutes)``: an ISO time ``minutes`` after a start ``hours_ago`` in the past (the session is charted
    with explicit times, so the test waits for nothing)."""
    start = (datetime.now(timezone.utc) - timedelta(hours=hours_ago)).replace(second=0, microsecond=0)

    def at(minutes: float) -> str:
        return (start + timedelta(minutes=minutes)).isoformat()

    return at


def vitals(at: str, systolic: int, diastolic: int, heart_rate: int, spo2: float = 98.0, **extra: Any) -> dict:
    return {"by": NURSE, "at": at, "systolic_mmhg": systolic, "diastolic_mmhg": diastolic,
            "heart_rate_per_min": heart_rate, "spo2_percent": spo2, **extra}


def confirmations(at: str | None = None, **changes: Any) -> dict[str, Any]:
    """Everything confirmed: the last solid food 8 h and clear fluids 3 h before ``at`` (the check's time, now when
    not given; issue 13 defect 18), the pregnancy test negative."""
    checked_at = datetime.fromisoformat(at) if at else datetime.now(timezone.utc)
    return {"last_solid_food_at": (checked_at - timedelta(hours=8)).isoformat(),
            "last_clear_fluids_at": (checked_at - timedelta(hours=3)).isoformat(), "ride_home_confirmed": True,
            "no_new_contraindication_since_intake": True, "no_new_interacting_drug_since_intake": True,
            "pregnancy_check": "negative", **changes}


def pre_check(at: str, systolic: int, diastolic: int, heart_rate: int = 76, spo2: float = 98.0,
              reading_id: str | None = None, respiratory_rate: int = 14, rass: int = 0) -> dict[str, Any]:
    """A pre-check with every reading the clinic requires by default (BP, HR, SpO2, respiratory rate, RASS)."""
    reading: dict[str, Any] = {"systolic_mmhg": systolic, "diastolic_mmhg": diastolic,
                               "heart_rate_per_min": heart_rate, "spo2_percent": spo2,
                               "respiratory_rate_per_min": respiratory_rate, "rass_score": rass}
    if reading_id:
        reading["reading_id"] = reading_id
    return {"by": NURSE, "at": at, "reading": reading, "confirmations": confirmations(at), "cssrs": cssrs(),
            "site_readiness": site_ready()}


def cssrs(**yes: bool) -> dict[str, Any]:
    """The day's C-SSRS screener (issue 13 defect 5): no to the always-asked items unless given."""
    return {"wish_to_be_dead": False, "suicidal_thoughts": False, "suicidal_behaviour_lifetime": False, **yes}


def site_ready(**answers: bool) -> dict[str, bool]:
    """The clinic's default site-readiness checklist, every item confirmed unless given (``monitoring_ready=...``)."""
    return {item: answers.get(item.replace("-", "_"), True) for item in SessionSettings().site_readiness_items}


def administration(order: PublishedOrder, started_at: str, stopped_at: str, **changes: Any) -> dict[str, Any]:
    calculation = order.placed.order.calculation
    return {"by": NURSE, "started_at": started_at, "stopped_at": stopped_at,
            "rate_changes": [{"at": started_at, "rate_ml_per_h": calculation.rate_ml_per_h}],
            "lot_number": "KET-2291", "lot_expiry": (date.today() + timedelta(days=300)).isoformat(), **changes}


def discharge(at: str, **changes: Any) -> dict[str, Any]:
    """Every criterion met: a named escort (issue 13 defect 10) and the instructions acknowledged."""
    return {"by": NURSE, "at": at, "mental_status_at_baseline": True, "escort_present": True,
            "escort_name": "Sam Hill", "escort_relationship": "spouse", "instructions_acknowledged": True,
            "aldrete": {"activity": 2, "respiration": 2, "circulation": 2, "consciousness": 2,
                        "oxygen_saturation": 2}, **changes}


def seeded_witness(ehr_client: Any) -> dict[str, str]:
    """A second licensed person for the controlled-substance record: the sandbox's seeded nurse (``nurse.ng``), a
    Practitioner the EHR has from the start (``deploy/ehr_sandbox/seed.py``)."""
    found = ehr_client.search("Practitioner", {"identifier": f"{SEED_SYSTEM}|smart-user-nurse.ng"})
    return {"reference": f"Practitioner/{found[0]['id']}"}


def controlled_substance(at: str, given_mg: float, drawn_mg: float, **changes: Any) -> dict[str, Any]:
    """The infusion's controlled-substance record, the rest of what was drawn wasted before a witness (a
    Practitioner of the EHR: ``Clinic.witness``; ``witness`` in ``changes`` names it)."""
    return {"by": NURSE, "at": at, "product": "ketamine 10 mg/mL injection", "lot_number": "KET-2291",
            "lot_expiry": (date.today() + timedelta(days=300)).isoformat(), "drawn_mg": drawn_mg,
            "given_mg": given_mg, "wasted_mg": round(drawn_mg - given_mg, 1),
            **changes}


def finish_recovery_paperwork(clinic: Clinic, path: str, review_at: str, cadss_at: str) -> None:
    """Given versus ordered reviewed and the end-of-recovery CADSS accounted for (issue 13 defects 11, 19)."""
    clinic.post(f"{path}/administration/review", {"by": NURSE, "at": review_at, "comment": "reviewed"})
    clinic.post(f"{path}/cadss/not-rated", {"by": NURSE, "at": cadss_at, "end_of_recovery": True,
                                            "reason": "patient resting, declined"})


def review_and_rate_recovery(clinic: Clinic, path: str, review_at: str, cadss_at: str,
                             cadss_scores: tuple[int, ...] = (0, 0, 0, 0, 0, 0)) -> None:
    """What the nurse does before discharge when the patient is fit to be rated: reviews given versus ordered on
    the administration record and rates the end-of-recovery CADSS (issue 13 defects 11, 19)."""
    clinic.post(f"{path}/administration/review", {"by": NURSE, "at": review_at})
    clinic.post(f"{path}/cadss", {"by": NURSE, "at": cadss_at, "form": "cadss-6", "end_of_recovery": True,
                                  "item_scores": list(cadss_scores)}, expect=201)


def controlled_substance_for(session: dict[str, Any], at: str, witness: dict[str, str],
                             wasted_mg: float = 10.0) -> dict[str, Any]:
    """The controlled-substance record as the nurse and a second licensed person complete it after the infusion,
    from the session's view: the order's product, the administration record's lot and dose given, ``wasted_mg``
    more drawn and wasted before the witness."""
    given_mg = session["given"]["total_mg"]
    administration_record = session["administration"]
    return controlled_substance(
        at, given_mg, round(given_mg + wasted_mg, 1), product=session["order"]["product_display"],
        product_code=session["order"]["product_code"], lot_number=administration_record["lot_number"],
        lot_expiry=administration_record["lot_expiry"],
        witness=witness)
