"""Worked example used across the documentation tests: an 80 kg patient on 0.5 mg/kg = 40 mg IV over 40 min at
75 mL/h (50 mL at 0.8 mg/mL), infusion 1 of 6 on 2026-03-02 in a clinic at UTC+01:00."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

from services.documentation.domain import session as s
from services.documentation.domain.administration import AdministrationRecord, RateChange
from services.documentation.domain.cadss import CadssAssessment, CadssForm
from services.documentation.domain.controlled_substance import ControlledSubstanceRecord, PersonIdentity
from services.documentation.domain.discharge import AldreteScore, DischargeAssessment
from services.documentation.domain.order import ActiveOrder, OrderStatus, ScheduledOccurrence
from services.documentation.domain.pre_check import PreCheckConfirmations, PregnancyCheck
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.site_readiness import SiteReadiness, site_readiness
from services.documentation.domain.suicide_risk import CssrsScreen, screen_cssrs
from services.documentation.domain.vitals import VitalsReading
from shared.people import Person
from shared.fhir.codes import KETALINK_LOCAL, identifier_system
from shared.fhir.medication import product_medication, product_reference
from shared.scales import ALWAYS_ASKED, GATED_BY

CLINIC_TZ = timezone(timedelta(hours=1))
SETTINGS = SessionSettings()
NURSE = Person("Practitioner/rn-dana-hill", "RN Dana Hill")
DOCTOR = Person("Practitioner/dr-sam-okafor", "Dr Sam Okafor")


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=CLINIC_TZ)


def make_order(**changes) -> ActiveOrder:
    occurrences = tuple(
        ScheduledOccurrence(number, at(9, 0, day=2 + 3 * (number - 1)), at(11, 0, day=2 + 3 * (number - 1)))
        for number in range(1, 7)
    )
    order = ActiveOrder(
        order_id="ord-1",
        series_id="ser-1",
        patient_id="pat-42",
        status=OrderStatus.ACTIVE,
        dose_mg_per_kg=0.5,
        dose_mg=40.0,
        duration_min=40,
        rate_ml_per_h=75.0,
        infusion_count=6,
        occurrences=occurrences,
        dose_calculation_text="0.5 mg/kg x 80 kg (actual body weight) = 40 mg in 50 mL over 40 min at 75 mL/h",
        indication="Treatment-resistant depression",
        signed_by=DOCTOR,
        authored_at=at(8, 0, day=1),
        weight_observation_reference="Observation/wt-1",
        product_strength_mg_per_ml=10.0,
        product_display="ketamine 10 mg/mL injection",
    )
    return replace(order, **changes)


def reading(
    reading_id: str, moment: datetime, systolic=128, diastolic=82, heart_rate=76, spo2=98.0, **kw
) -> VitalsReading:
    return VitalsReading(
        reading_id=reading_id,
        measured_at=moment,
        recorded_by=NURSE,
        systolic_mmhg=systolic,
        diastolic_mmhg=diastolic,
        heart_rate_per_min=heart_rate,
        spo2_percent=spo2,
        **kw,
    )


def baseline(reading_id: str, moment: datetime, *args, **kw) -> VitalsReading:
    """A pre-check reading: as ``reading`` with respiratory rate 14/min and RASS 0 unless given (None leaves one
    out), as the pre-check requires by default (``pre_check_required_readings``)."""
    kw.setdefault("respiratory_rate_per_min", 14)
    kw.setdefault("rass_score", 0)
    return reading(reading_id, moment, *args, **kw)


def confirmations(**changes) -> PreCheckConfirmations:
    """Everything confirmed: last solid food at 01:00 and clear fluids at 07:00 (a check at 09:05 meets the 6 h and
    2 h windows), pregnancy test negative (the check applies unless the EHR record rules it out)."""
    confirmed = PreCheckConfirmations(
        ride_home_confirmed=True,
        no_new_contraindication_since_intake=True,
        no_new_interacting_drug_since_intake=True,
        pregnancy_check=PregnancyCheck.NEGATIVE,
        last_solid_food_at=at(1, 0),
        last_clear_fluids_at=at(7, 0),
    )
    return replace(confirmed, **changes)


def cssrs(settings: SessionSettings = SETTINGS, moment: datetime | None = None, screening_id: str = "cssrs-1",
          **yes) -> CssrsScreen:
    """The day's C-SSRS screener: every always-asked item no unless given (``ideation_with_method=True`` …); a yes
    to item 2 or 6 asks its follow-ups (no unless given)."""
    answers = {item.value: False for item in ALWAYS_ASKED}
    answers.update({name.replace("_", "-"): value for name, value in yes.items()})
    for item, gate in GATED_BY.items():
        if answers.get(gate.value):
            answers.setdefault(item.value, False)
    return screen_cssrs(screening_id, answers, settings, NURSE, moment or at(9, 4))


def site_ready(settings: SessionSettings = SETTINGS, moment: datetime | None = None, **answers) -> SiteReadiness:
    """The clinic's checklist, every item confirmed unless given (``monitoring_ready=False``)."""
    given = {item: answers.get(item.replace("-", "_"), True) for item in settings.site_readiness_items}
    return site_readiness(given, settings, NURSE, moment or at(9, 4))


def checked_in(order: ActiveOrder | None = None) -> s.Session:
    order = order or make_order()
    return s.check_in(s.create_session(order, 1), order, NURSE, at(9, 0))


def pre_checked(order: ActiveOrder | None = None, pre_reading: VitalsReading | None = None, **kw) -> s.Session:
    order = order or make_order()
    return s.record_pre_check(
        checked_in(order),
        order,
        pre_reading or baseline("pre-1", at(9, 5)),
        kw.pop("confirmed", confirmations()),
        kw.pop("latest_weight_kg", 80.0),
        kw.pop("settings", SETTINGS),
        NURSE,
        at(9, 6),
        cssrs=kw.pop("cssrs", cssrs()),
        site_readiness=kw.pop("site_readiness", site_ready()),
        **kw,
    )


def infusing(order: ActiveOrder | None = None) -> s.Session:
    order = order or make_order()
    return s.start_infusion(pre_checked(order), order, NURSE, at(9, 10))


def recovering(order: ActiveOrder | None = None) -> s.Session:
    """Readings every 15 min from 09:25 (peak 152/94 at 09:55), infusion 09:10-09:50."""
    session = infusing(order)
    for reading_id, moment, systolic, diastolic, heart_rate in [
        ("r-0925", at(9, 25), 138, 88, 84),
        ("r-0940", at(9, 40), 146, 92, 90),
    ]:
        session = s.record_vitals(session, reading(reading_id, moment, systolic, diastolic, heart_rate), SETTINGS)
    session = s.end_infusion(session, NURSE, at(9, 50))
    for reading_id, moment, systolic, diastolic, heart_rate in [
        ("r-0955", at(9, 55), 152, 94, 88),
        ("r-1005", at(10, 5), 140, 88, 82),
        ("r-1020", at(10, 20), 132, 84, 78),
    ]:
        session = s.record_vitals(session, reading(reading_id, moment, systolic, diastolic, heart_rate), SETTINGS)
    return session


def administration(**changes) -> AdministrationRecord:
    record = AdministrationRecord(
        started_at=at(9, 10),
        stopped_at=at(9, 50),
        rate_changes=(RateChange(at(9, 10), 75.0),),
        lot_number="KET-2291",
        lot_expiry=date(2027, 5, 31),
        recorded_by=NURSE,
    )
    return replace(record, **changes)


def ready_for_discharge(order: ActiveOrder | None = None) -> s.Session:
    """Administration recorded and reviewed, the scheduled CADSS ratings (40 min, end of recovery) taken."""
    order = order or make_order()
    session = s.record_administration(recovering(order), order, administration(), SETTINGS)
    session = s.review_given_against_ordered(session, NURSE, at(10, 0), "", SETTINGS)
    for assessment_id, moment, minute, end in [("cadss-40", at(9, 50), 40, False), ("cadss-end", at(10, 20), None, True)]:
        session = s.record_cadss(session, CadssAssessment(assessment_id, CadssForm.SHORT, (1, 0, 1, 0, 0, 0), moment,
                                                          NURSE, scheduled_minute=minute, end_of_recovery=end),
                                 SETTINGS)
    return session


def assessment(**changes) -> DischargeAssessment:
    assessed = DischargeAssessment(
        mental_status_at_baseline=True,
        escort_present=True,
        assessed_by=NURSE,
        assessed_at=at(10, 20),
        aldrete=AldreteScore(activity=2, respiration=2, circulation=2, consciousness=2, oxygen_saturation=1),
        escort_name="Alex Hill",
        escort_relationship="spouse",
        instructions_given=SETTINGS.discharge_instructions,
        instructions_acknowledged=True,
    )
    return replace(assessed, **changes)


def controlled_substance(**changes) -> ControlledSubstanceRecord:
    """40 mg drawn for the 40 mg given (the administration record's dose), none wasted, witnessed by Dr Okafor."""
    record = ControlledSubstanceRecord(
        product="ketamine 10 mg/mL injection", product_code="", lot_number="KET-2291", lot_expiry=date(2027, 5, 31),
        drawn_mg=50.0, given_mg=40.0, wasted_mg=10.0, recorded_by=NURSE, recorded_at=at(10, 30),
        witness=PersonIdentity(reference=DOCTOR.reference or "", display=DOCTOR.display), witnessed_at=at(10, 0),
    )
    return replace(record, **changes)


def discharged(order: ActiveOrder | None = None) -> s.Session:
    return s.discharge(ready_for_discharge(order), assessment(), SETTINGS, NURSE, at(10, 25))


# FHIR shapes of the order-signed focus, as docs/contracts.md describes them.


def fhir_medication_request(**changes) -> dict:
    resource = {
        "resourceType": "MedicationRequest",
        "identifier": [{"system": identifier_system("order"), "value": "ord-1"}],
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/pat-42"},
        "authoredOn": "2026-03-01T08:00:00+01:00",
        "requester": DOCTOR.fhir_reference(),
        "contained": [product_medication(10.0, "ketamine 10 mg/mL injection", None)],
        "medicationReference": product_reference("ketamine 10 mg/mL injection"),
        "reasonCode": [{"text": "Treatment-resistant depression"}],
        "basedOn": [{"type": "CarePlan", "identifier": {"system": identifier_system("series"), "value": "ser-1"}}],
        "supportingInformation": [{"reference": "Observation/wt-1"}],
        "dosageInstruction": [
            {
                "text": "0.5 mg/kg x 80 kg (actual body weight) = 40 mg in 50 mL over 40 min at 75 mL/h",
                "route": {"coding": [{"system": "http://snomed.info/sct", "code": "47625008"}]},
                "timing": {"repeat": {"count": 1, "duration": 40, "durationUnit": "min"}},
                "doseAndRate": [
                    {
                        "type": {
                            "coding": [
                                {"system": "http://terminology.hl7.org/CodeSystem/dose-rate-type", "code": "ordered"}
                            ]
                        },
                        "doseQuantity": _q(0.5, "mg/kg"),
                        "rateRatio": {"numerator": _q(0.5, "mg/kg"), "denominator": _q(40, "min")},
                    },
                    {
                        "type": {
                            "coding": [
                                {"system": "http://terminology.hl7.org/CodeSystem/dose-rate-type", "code": "calculated"}
                            ]
                        },
                        "doseQuantity": _q(40, "mg"),
                        "rateQuantity": _q(75, "mL/h"),
                    },
                ],
            }
        ],
        "dispenseRequest": {"numberOfRepeatsAllowed": 5},
    }
    resource.update(changes)
    return resource


def fhir_care_plan(activity_count: int = 6, **changes) -> dict:
    resource = {
        "resourceType": "CarePlan",
        "identifier": [{"system": identifier_system("series"), "value": "ser-1"}],
        "status": "active",
        "intent": "plan",
        "subject": {"reference": "Patient/pat-42"},
        "category": [{"text": "ketamine-induction"}],
        "activity": [
            {
                "detail": {
                    "kind": "MedicationRequest",
                    "code": {"coding": [{"system": KETALINK_LOCAL, "code": "ketamine-infusion"}]},
                    "status": "completed" if number == 1 else "scheduled",
                    "scheduledPeriod": {
                        "start": at(9, 0, day=2 + 3 * (number - 1)).isoformat(),
                        "end": at(11, 0, day=2 + 3 * (number - 1)).isoformat(),
                    },
                }
            }
            for number in range(1, activity_count + 1)
        ],
    }
    resource.update(changes)
    return resource


def _q(value, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
