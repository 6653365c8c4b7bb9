from datetime import datetime, timezone

import pytest

from services.intake.domain.vitals import BaselineVitals, BloodPressure, VitalReading
from shared.errors import FhirMappingError
from services.intake.translators.observation_vitals_in import vitals_from_fhir
from services.intake.translators.observation_vitals_out import vital_sign_observations
from shared.fhir.codes import LOINC, OBSERVATION_CATEGORY, UCUM

from .builders import BASELINE_VITALS, T0

MEASURED = datetime(2026, 3, 1, 8, 15, tzinfo=timezone.utc)


def observation(code, value=None, unit=None, **extra):
    resource = {
        "resourceType": "Observation", "id": "obs-1", "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": "Patient/pat-123"},
        "effectiveDateTime": "2026-03-01T08:15:00Z",
    }
    if value is not None:
        resource["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    resource.update(extra)
    return resource


def bp_panel(systolic=142, diastolic=91, unit="mm[Hg]"):
    component = lambda code, v: {"code": {"coding": [{"system": LOINC, "code": code}]},  # noqa: E731
                                 "valueQuantity": {"value": v, "system": UCUM, "code": unit}}
    return observation("85354-9", component=[component("8480-6", systolic), component("8462-4", diastolic)])


class TestIn:
    def test_blood_pressure_panel(self):
        assert vitals_from_fhir(bp_panel()) == BaselineVitals(blood_pressure=BloodPressure(142, 91, MEASURED,
                                                                                           "obs-1"))

    @pytest.mark.parametrize("code, value, unit, field, expected", [
        ("8867-4", 72, "/min", "heart_rate_per_min", 72),
        ("8867-4", 72, "{beats}/min", "heart_rate_per_min", 72),
        ("59408-5", 97, "%", "spo2_pct", 97),
        ("2708-6", 96, "%", "spo2_pct", 96),
        ("9279-1", 16, "/min", "respiratory_rate_per_min", 16),
        ("29463-7", 82.5, "kg", "weight_kg", 82.5),
        ("29463-7", 154, "[lb_av]", "weight_kg", 69.85),  # 154 lb × 0.45359237
        ("8302-2", 176, "cm", "height_cm", 176),
        ("8302-2", 69, "[in_i]", "height_cm", 175.3),  # 69 in × 2.54
    ])
    def test_single_readings_with_unit_conversion(self, code, value, unit, field, expected):
        vitals = vitals_from_fhir(observation(code, value, unit))
        assert getattr(vitals, field) == VitalReading(expected, MEASURED, "obs-1")

    def test_effective_period_start_is_the_time(self):
        resource = observation("8867-4", 70, "/min", effectivePeriod={"start": "2026-03-01T08:15:00Z"})
        del resource["effectiveDateTime"]
        assert vitals_from_fhir(resource).heart_rate_per_min.measured_at == MEASURED

    @pytest.mark.parametrize("resource, field", [
        (observation("29463-7", 82, "g"), "Observation.valueQuantity.code"),
        (observation("8302-2", 1.76, "m"), "Observation.valueQuantity.code"),
        (observation("8867-4", 72, "/s"), "Observation.valueQuantity.code"),
        (bp_panel(unit="kPa"), "Observation.component[0].valueQuantity.code"),
        (observation("85354-9", component=[{"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                                            "valueQuantity": {"value": 120, "system": UCUM, "code": "mm[Hg]"}}]),
         "Observation.component"),
        (observation("8867-4", dataAbsentReason={"text": "patient refused"}), "Observation.valueQuantity"),
        (observation("8867-4", 72, "/min", status="preliminary"), "Observation.status"),
        (observation("2339-0", 5.4, "mmol/L"), "Observation.code"),
        (observation("8867-4", 72, "/min", effectiveDateTime=None), "Observation.effectiveDateTime"),
    ])
    def test_what_cannot_be_mapped_is_named(self, resource, field):
        resource = {k: v for k, v in resource.items() if v is not None}
        with pytest.raises(FhirMappingError) as error:
            vitals_from_fhir(resource)
        assert error.value.field == field

    def test_non_ucum_units_are_refused(self):
        resource = observation("29463-7", 82, "kg")
        resource["valueQuantity"]["system"] = "http://example.org/units"
        with pytest.raises(FhirMappingError) as error:
            vitals_from_fhir(resource)
        assert error.value.field == "Observation.valueQuantity.system"


class TestOut:
    def test_blood_pressure_is_one_us_core_panel_with_two_components(self):
        bp = vital_sign_observations(BaselineVitals(blood_pressure=BloodPressure(128, 82, T0)), "pat-123", "i-1")[0]
        assert bp["code"]["coding"][0]["code"] == "85354-9"
        assert bp["category"][0]["coding"][0] == {"system": OBSERVATION_CATEGORY, "code": "vital-signs",
                                                  "display": "Vital Signs"}
        assert [(c["code"]["coding"][0]["code"], c["valueQuantity"]["value"], c["valueQuantity"]["code"])
                for c in bp["component"]] == [("8480-6", 128, "mm[Hg]"), ("8462-4", 82, "mm[Hg]")]
        assert bp["identifier"] == [{"system": "https://ketalink.example.org/fhir/identifier/intake-observation",
                                     "value": "i-1-blood-pressure"}]
        assert bp["subject"] == {"reference": "Patient/pat-123"}
        assert bp["effectiveDateTime"] == "2026-03-02T09:30:00+00:00"
        assert "valueQuantity" not in bp

    def test_each_reading_has_its_loinc_code_and_ucum_unit(self):
        observations = vital_sign_observations(BASELINE_VITALS, "pat-123", "i-1")
        summary = [([c["code"] for c in o["code"]["coding"]], o.get("valueQuantity", {}).get("code"))
                   for o in observations]
        assert summary == [
            (["85354-9"], None), (["8867-4"], "/min"), (["59408-5", "2708-6"], "%"), (["9279-1"], "/min"),
            (["29463-7"], "kg"), (["8302-2"], "cm"),
        ]

    def test_readings_from_the_ehr_are_not_sent_back(self):
        vitals = BaselineVitals(weight_kg=VitalReading(80, T0, "ehr-obs-5"), height_cm=VitalReading(170, T0))
        observations = vital_sign_observations(vitals, "pat-123", "i-1")
        assert [o["code"]["coding"][0]["code"] for o in observations] == ["8302-2"]


def test_round_trip_out_then_in_gives_the_same_vitals():
    merged = BaselineVitals()
    for resource in vital_sign_observations(BASELINE_VITALS, "pat-123", "i-1"):
        merged = merged.merged_with(vitals_from_fhir(resource))
    assert merged == BASELINE_VITALS
