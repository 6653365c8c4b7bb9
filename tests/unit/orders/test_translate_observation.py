from datetime import datetime, timezone

import pytest

from services.orders.domain.dose import calculate_dose
from shared.errors import FhirMappingError
from services.orders.translators.observation_height_in import body_height_from_observation
from services.orders.translators.observation_weight_in import body_weight_from_observation
from tests.unit.orders.builders import NOW, height_observation, settings, weight_observation

MEASURED = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)


def test_weight_in_kg():
    measured = body_weight_from_observation(weight_observation(80.0, "kg"))
    assert (measured.value_kg, measured.measured_at, measured.observation_id) == (80.0, MEASURED, "weight-1")


def test_weight_in_pounds_is_converted_and_dosed():
    measured = body_weight_from_observation(weight_observation(176, "[lb_av]"))
    assert measured.value_kg == pytest.approx(79.832, abs=1e-3)
    calc = calculate_dose(measured, None, None, settings(), now=NOW)  # 39.9 mg → 40 mg
    assert (calc.dose_mg, calc.rate_ml_per_h) == (40, 156.0)


def test_height_in_cm_and_inches():
    assert body_height_from_observation(height_observation(177.8, "cm")).value_cm == 177.8
    assert body_height_from_observation(height_observation(70, "[in_i]")).value_cm == pytest.approx(177.8)


def test_measurement_time_from_an_instant_a_period_or_a_date():
    instant = weight_observation(effectiveInstant="2026-11-18T09:00:00Z")
    del instant["effectiveDateTime"]  # left out: a JSON null is not FHIR
    assert body_weight_from_observation(instant).measured_at == MEASURED
    period = weight_observation(effectivePeriod={"start": "2026-11-18T09:00:00+00:00"})
    del period["effectiveDateTime"]
    assert body_weight_from_observation(period).measured_at == MEASURED
    dated = body_weight_from_observation(weight_observation(effectiveDateTime="2026-11-18"))
    assert dated.measured_at == datetime(2026, 11, 18, tzinfo=timezone.utc)


@pytest.mark.parametrize("resource, expression", [
    (weight_observation(80, "g"), "Observation.valueQuantity"),
    (weight_observation(0, "kg"), "Observation.valueQuantity.value"),
    (weight_observation(status="preliminary"), "Observation.status"),
    (weight_observation(status="entered-in-error"), "Observation.status"),
    (height_observation(), "Observation.code"),
    (weight_observation(valueQuantity=None), "Observation.valueQuantity"),
])
def test_a_weight_that_cannot_be_used_is_refused(resource, expression):
    resource = {k: v for k, v in resource.items() if v is not None}
    with pytest.raises(FhirMappingError) as caught:
        body_weight_from_observation(resource)
    assert caught.value.field == expression


def test_a_weight_without_a_time_is_refused():
    resource = weight_observation()
    del resource["effectiveDateTime"]
    with pytest.raises(FhirMappingError) as caught:
        body_weight_from_observation(resource)
    assert caught.value.field == "Observation.effective[x]"


@pytest.mark.parametrize("resource, expression", [
    (height_observation(1.778, "m"), "Observation.valueQuantity"),
    (weight_observation(), "Observation.code"),
])
def test_a_height_that_cannot_be_used_is_refused(resource, expression):
    with pytest.raises(FhirMappingError) as caught:
        body_height_from_observation(resource)
    assert caught.value.field == expression


def test_a_structurally_invalid_observation_names_the_element():
    with pytest.raises(FhirMappingError) as caught:
        body_weight_from_observation(weight_observation(valueWeight=80))
    assert caught.value.field.startswith("Observation.valueWeight")
