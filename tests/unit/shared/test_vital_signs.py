"""US Core vital-sign Observations as both services build and read them: the BP panel, one sign per Observation,
UCUM units (with pounds and inches converted) and errors naming the element."""
from datetime import datetime, timedelta, timezone

import pytest

from shared.fhir.codes import BODY_HEIGHT, BODY_WEIGHT, HEART_RATE, LOINC, SPO2, SPO2_ARTERIAL, UCUM
from shared.fhir.datatypes import identifier
from shared.fhir.validate import validate_resource
from shared.fhir.vital_signs import (
    TO_CM, TO_KG, VitalSignError, blood_pressure_mmhg, blood_pressure_observation, converted_value, effective_text,
    vital_sign_observation, vital_sign_quantity, vital_sign_value,
)

MEASURED_AT = datetime(2026, 3, 2, 9, 40, tzinfo=timezone(timedelta(hours=1)))
IDENTIFIER = identifier("vital-sign", "s-1/r-1/bp")


def panel(systolic=146, diastolic=92):
    return blood_pressure_observation(IDENTIFIER, "pat-42", MEASURED_AT, systolic, diastolic)


def heart_rate(**value_quantity):
    observation = vital_sign_observation((HEART_RATE,), IDENTIFIER, "pat-42", MEASURED_AT)
    observation["valueQuantity"] = {**vital_sign_quantity(88, HEART_RATE), **value_quantity}
    return observation


class TestBuilding:
    def test_blood_pressure_is_one_panel_with_systolic_and_diastolic_components(self):
        bp = validate_resource(panel())
        assert bp["code"] == {"coding": [{"system": LOINC, "code": "85354-9",
                                          "display": "Blood pressure panel with all children optional"}],
                              "text": "Blood pressure panel with all children optional"}
        assert [(c["code"]["coding"][0]["code"], c["valueQuantity"]) for c in bp["component"]] == [
            ("8480-6", {"value": 146, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}),
            ("8462-4", {"value": 92, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}),
        ]
        assert "valueQuantity" not in bp

    def test_every_sign_is_final_in_the_vital_signs_category_for_the_patient_at_its_time(self):
        observation = validate_resource(heart_rate())
        assert (observation["status"], observation["category"][0]["coding"][0]["code"]) == ("final", "vital-signs")
        assert observation["subject"] == {"reference": "Patient/pat-42"}
        assert observation["effectiveDateTime"] == "2026-03-02T09:40:00+01:00"
        assert observation["identifier"] == [IDENTIFIER]

    def test_the_first_code_names_the_sign_and_gives_its_ucum_unit(self):
        spo2 = vital_sign_observation((SPO2, SPO2_ARTERIAL), IDENTIFIER, "pat-42", MEASURED_AT)
        assert [c["code"] for c in spo2["code"]["coding"]] == ["59408-5", "2708-6"]
        assert spo2["code"]["text"] == SPO2.display
        assert vital_sign_quantity(88, HEART_RATE) == {"value": 88, "unit": "beats/minute", "system": UCUM,
                                                       "code": "/min"}
        assert vital_sign_quantity(82.5, BODY_WEIGHT)["code"] == "kg"


class TestReading:
    def test_built_signs_read_back(self):
        assert blood_pressure_mmhg(panel(), "Observation") == (146, 92)
        assert vital_sign_value(heart_rate(), "/min", "Observation") == 88

    def test_ucum_annotations_are_unity(self):
        assert vital_sign_value(heart_rate(code="{beats}/min"), "/min", "Observation") == 88

    def test_a_data_absent_value_reads_as_none(self):
        observation = heart_rate()
        del observation["valueQuantity"]
        observation["dataAbsentReason"] = {"text": "patient moving"}
        assert vital_sign_value(observation, "/min", "Observation") is None

    def test_a_missing_or_data_absent_component_reads_as_none(self):
        bp = panel()
        del bp["component"][1]
        assert blood_pressure_mmhg(bp, "Observation") == (146, None)
        bp["component"][0] = {"code": bp["component"][0]["code"], "dataAbsentReason": {"text": "cuff failed"}}
        assert blood_pressure_mmhg(bp, "Observation") == (None, None)

    def test_pounds_and_inches_are_converted_exactly(self):
        weight = {"valueQuantity": {"value": 176, "system": UCUM, "code": "[lb_av]"}}
        assert converted_value(weight, TO_KG, "Observation") == pytest.approx(79.83225712)
        height = {"valueQuantity": {"value": 70, "unit": "[in_i]"}}
        assert converted_value(height, TO_CM, "Observation") == pytest.approx(177.8)
        assert converted_value({"valueQuantity": {"value": 176, "code": "cm"}}, TO_CM, "Observation") == 176

    @pytest.mark.parametrize("element, field, message", [
        (heart_rate(code="/s", unit="/s"), "Observation[1].valueQuantity.code",
         "unit '/s' is not supported: expected unit '/min'"),
        (heart_rate(system="http://example.org/units"), "Observation[1].valueQuantity.system", "expected UCUM"),
        (heart_rate(value=None), "Observation[1].valueQuantity.value", "a value is required"),
        (heart_rate(code=None, unit=None), "Observation[1].valueQuantity.code", "a UCUM unit code is required"),
        ({"code": {"text": "HR"}}, "Observation[1].valueQuantity", "expected a valueQuantity"),
    ])
    def test_what_cannot_be_read_is_named(self, element, field, message):
        with pytest.raises(VitalSignError) as error:
            vital_sign_value(element, "/min", "Observation[1]")
        assert error.value.field == field
        assert message in error.value.message

    def test_a_component_in_another_unit_is_named_with_its_index(self):
        bp = panel()
        bp["component"][1]["valueQuantity"]["code"] = "kPa"
        with pytest.raises(VitalSignError) as error:
            blood_pressure_mmhg(bp, "Observation")
        assert error.value.field == "Observation.component[1].valueQuantity.code"

    def test_a_weight_in_another_unit_lists_the_units_that_can_be_read(self):
        with pytest.raises(VitalSignError, match=r"unit 'g' is not supported: expected unit 'kg' or '\[lb_av\]'"):
            converted_value({"valueQuantity": {"value": 68000, "code": "g"}}, TO_KG, "Observation")
        assert BODY_WEIGHT.unit in TO_KG and BODY_HEIGHT.unit in TO_CM

    def test_the_effective_time_is_the_date_time_the_instant_or_the_period_start(self):
        assert effective_text({"effectiveDateTime": "2026-03-02T09:40:00+01:00"}) == "2026-03-02T09:40:00+01:00"
        assert effective_text({"effectiveInstant": "2026-03-02T08:40:00Z"}) == "2026-03-02T08:40:00Z"
        assert effective_text({"effectivePeriod": {"start": "2026-03-02"}}) == "2026-03-02"
        assert effective_text({}) is None
