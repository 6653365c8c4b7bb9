"""The CDS Hooks cards' reading of the EHR's weights (``weight_from_fhir``): a weight whose time is a JSON number
(found by the hook fuzz test as a 500 when the structural validation still coerced it) is not dated, so it is
not dosed from, and the hook answers rather than crashing."""
from __future__ import annotations

from services.orders.cds_hooks.context import weight_from_fhir


def _weight(effective: object) -> dict:
    return {"resourceType": "Observation", "id": "w1", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": effective,
            "valueQuantity": {"value": 80, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}}


def test_a_weight_timed_by_a_number_is_not_dosed_from() -> None:
    weight, reasons = weight_from_fhir([_weight(5)])
    assert weight is None and reasons == ()


def test_a_weight_timed_by_a_string_is_read() -> None:
    weight, _ = weight_from_fhir([_weight("2026-12-06T10:00:00Z")])
    assert weight is not None and weight.value_kg == 80


def test_a_weight_whose_code_has_a_null_coding_is_refused_as_not_a_weight() -> None:
    """``"coding": null`` is refused by the structural validation, naming it; the weight is not read (a reason),
    not a crash."""
    observation = _weight("2026-12-06T10:00:00Z") | {"code": {"coding": None, "text": "weight"}}
    weight, reasons = weight_from_fhir([observation])
    assert weight is None and [r.field for r in reasons] == ["weight.Observation.code.coding"]

