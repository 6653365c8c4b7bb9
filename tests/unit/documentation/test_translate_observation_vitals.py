import copy

import pytest

from services.documentation.domain.vitals import VitalsReading, VitalsSource
from shared.people import Person
from shared.errors import FhirMappingError
from services.documentation.translators.observation_vitals_in import vitals_from_observations
from services.documentation.translators.observation_vitals_out import vitals_observations
from shared.fhir.codes import LOINC, UCUM
from shared.fhir.validate import FhirValidationError

from .builders import NURSE, at, reading

FULL = reading("r-0940", at(9, 40), 146, 92, 90, spo2=97.5, respiratory_rate_per_min=14)


def codes(observation):
    return [c["code"] for c in observation["code"]["coding"]]


def test_reading_becomes_us_core_vital_sign_observations():
    bp, hr, spo2, rr = vitals_observations("ord-1-1", "pat-42", FULL)
    assert codes(bp) == ["85354-9"] and codes(hr) == ["8867-4"] and codes(spo2) == ["59408-5", "2708-6"]
    assert codes(rr) == ["9279-1"]
    assert [
        (c["code"]["coding"][0]["code"], c["valueQuantity"]["value"], c["valueQuantity"]["code"])
        for c in bp["component"]
    ] == [
        ("8480-6", 146, "mm[Hg]"),
        ("8462-4", 92, "mm[Hg]"),
    ]
    assert "valueQuantity" not in bp
    assert (hr["valueQuantity"]["value"], hr["valueQuantity"]["code"], hr["valueQuantity"]["system"]) == (
        90,
        "/min",
        UCUM,
    )
    assert (spo2["valueQuantity"]["value"], spo2["valueQuantity"]["code"]) == (97.5, "%")
    for observation in (bp, hr, spo2, rr):
        assert observation["status"] == "final"
        assert observation["category"][0]["coding"][0]["code"] == "vital-signs"
        assert observation["subject"] == {"reference": "Patient/pat-42"}
        assert observation["effectiveDateTime"] == "2026-03-02T09:40:00+01:00"
        assert observation["encounter"]["identifier"]["value"] == "ord-1-1"
        assert observation["performer"] == [NURSE.fhir_reference()]
    assert bp["identifier"] == [
        {"system": "https://ketalink.example.org/fhir/identifier/vital-sign", "value": "ord-1-1/r-0940/bp"}
    ]
    assert bp["code"]["coding"][0]["system"] == LOINC


def test_only_measured_signs_are_sent():
    hr_only = VitalsReading("dev-1", at(9, 30), Person(None, "monitor"), heart_rate_per_min=88)
    (observation,) = vitals_observations("ord-1-1", "pat-42", hr_only)
    assert codes(observation) == ["8867-4"]


@pytest.mark.parametrize(
    "original",
    [
        FULL,
        reading("r-0955", at(9, 55), 152, 94, 88),
        VitalsReading("r-sp", at(9, 30), NURSE, spo2_percent=91.0),
    ],
)
def test_round_trip_out_then_in_gives_the_same_reading(original):
    inbound = vitals_from_observations(vitals_observations("ord-1-1", "pat-42", original))
    assert inbound.patient_id == "pat-42"
    assert inbound.reading == original


def device_observations():
    observations = vitals_observations("x", "pat-42", reading("ignored", at(9, 40), 184, 104, 96))
    for index, observation in enumerate(observations):
        del observation["identifier"]
        observation["id"] = f"ehr-obs-{index}"
        observation["performer"] = [{"reference": "Device/pump-monitor-3"}]
        del observation["encounter"]
    return observations


def test_device_observations_become_an_ehr_reading_that_keeps_their_ids():
    inbound = vitals_from_observations(device_observations())
    reading_in = inbound.reading
    assert (reading_in.systolic_mmhg, reading_in.diastolic_mmhg, reading_in.heart_rate_per_min) == (184, 104, 96)
    assert reading_in.source is VitalsSource.EHR
    assert reading_in.ehr_observation_ids == ("ehr-obs-0", "ehr-obs-1", "ehr-obs-2")
    assert reading_in.reading_id == "ehr-ehr-obs-0" and reading_in.recorded_by == Person(
        "Device/pump-monitor-3", "Device/pump-monitor-3")  # the EHR's performer, by reference
    assert vitals_from_observations(device_observations(), reading_id="msg-77").reading.reading_id == "msg-77"


def test_a_measure_with_data_absent_reason_is_left_out():
    observations = device_observations()
    hr = observations[1]
    del hr["valueQuantity"]
    hr["dataAbsentReason"] = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "error"}]
    }
    reading_in = vitals_from_observations(observations).reading
    assert reading_in.heart_rate_per_min is None and reading_in.systolic_mmhg == 184


def mutated(index, change):
    observations = device_observations()
    change(observations[index])
    return observations


@pytest.mark.parametrize(
    "observations, field, message",
    [
        (
            mutated(1, lambda o: o["valueQuantity"].update(code="/s")),
            "Observation[1].valueQuantity.code",
            "expected unit '/min'",
        ),
        (mutated(0, lambda o: o["component"].pop()), "Observation[0].component", "both systolic and diastolic"),
        (
            mutated(1, lambda o: o.update(code={"coding": [{"system": LOINC, "code": "8310-5"}]})),
            "Observation[1].code",
            "http://loinc.org|8310-5",
        ),
        (mutated(2, lambda o: o.update(status="preliminary")), "Observation[2].status", "not a usable result"),
        (
            mutated(2, lambda o: o.update(effectiveDateTime="2026-03-02T09:41:00+01:00")),
            "Observation.effectiveDateTime",
            "different times",
        ),
        (
            mutated(2, lambda o: o.update(subject={"reference": "Patient/other"})),
            "Observation.subject",
            "different patients",
        ),
        (mutated(2, lambda o: o.update(subject={"reference": "Group/1"})), "Observation[2].subject", "literal Patient"),
        (
            mutated(0, lambda o: o.update(effectiveDateTime="2026-03-02")),
            "Observation[0].effectiveDateTime",
            "without a time",
        ),
        (mutated(1, lambda o: o.pop("valueQuantity")), "Observation[1].valueQuantity", "expected a valueQuantity"),
        ([], "Observation", "no Observation"),
    ],
)
def test_unmappable_observations_are_refused_naming_the_element(observations, field, message):
    with pytest.raises(FhirMappingError) as error:
        vitals_from_observations(observations)
    assert error.value.field == field
    assert message in error.value.message


def test_the_same_measure_twice_is_refused():
    observations = device_observations()
    observations.append(copy.deepcopy(observations[1]))
    with pytest.raises(FhirMappingError, match="heart_rate_per_min given twice"):
        vitals_from_observations(observations)


def test_impossible_values_are_refused_as_mapping_errors():
    observations = device_observations()
    observations[2]["valueQuantity"]["value"] = 104
    with pytest.raises(FhirMappingError) as error:
        vitals_from_observations(observations)
    assert error.value.field == "Observation (spo2_percent)"


def test_structure_is_validated_first():
    observations = device_observations()
    observations[0]["valueQuantity"] = "high"
    with pytest.raises(FhirValidationError):
        vitals_from_observations(observations)


def test_observations_with_neither_id_nor_identifier_need_a_reading_id():
    observations = device_observations()
    for observation in observations:
        del observation["id"]
    with pytest.raises(FhirMappingError, match="no id"):
        vitals_from_observations(observations)
    assert vitals_from_observations(observations, reading_id="msg-1").reading.ehr_observation_ids == ()
