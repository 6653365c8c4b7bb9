import pytest

from services.documentation.domain.order import OccurrenceStatus, OrderStatus
from shared.errors import FhirMappingError
from services.documentation.translators.order_in import active_order_from_fhir, active_order_from_focus
from shared.fhir.validate import FhirValidationError

from .builders import DOCTOR, at, fhir_care_plan, fhir_medication_request, make_order


def test_order_signed_focus_becomes_the_active_order():
    order = active_order_from_fhir(fhir_medication_request(), fhir_care_plan())
    assert (order.order_id, order.series_id, order.patient_id, order.status) == (
        "ord-1",
        "ser-1",
        "pat-42",
        OrderStatus.ACTIVE,
    )
    assert (order.dose_mg_per_kg, order.dose_mg, order.duration_min, order.rate_ml_per_h) == (0.5, 40.0, 40, 75.0)
    assert order.infusion_count == 6 and len(order.occurrences) == 6
    assert order.occurrences[0].status is OccurrenceStatus.COMPLETED
    assert (order.occurrences[1].number, order.occurrences[1].window_start, order.occurrences[1].window_end) == (
        2,
        at(9, 0, day=5),
        at(11, 0, day=5),
    )
    assert order.dose_calculation_text.startswith("0.5 mg/kg x 80 kg")
    assert (order.indication, order.signed_by, order.authored_at) == (
        "Treatment-resistant depression",
        DOCTOR,
        at(8, 0, day=1),
    )
    assert order.weight_observation_reference == "Observation/wt-1"
    expected = make_order()
    assert order.occurrences[1:] == expected.occurrences[1:]


def test_focus_order_does_not_matter_and_extra_resources_are_ignored():
    provenance = {"resourceType": "Provenance"}
    order = active_order_from_focus([fhir_care_plan(), provenance, fhir_medication_request()])
    assert order.order_id == "ord-1"
    with pytest.raises(FhirMappingError) as error:
        active_order_from_focus([fhir_care_plan()])
    assert error.value.field == "MedicationRequest"


@pytest.mark.parametrize("status", ["on-hold", "cancelled", "completed"])
def test_order_status_is_carried(status):
    assert active_order_from_fhir(fhir_medication_request(status=status), fhir_care_plan()).status.value == status


def _dosage_with(**changes):
    dosage = fhir_medication_request()["dosageInstruction"][0]
    dosage.update(changes)
    return [dosage]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"identifier": []}, "MedicationRequest.identifier"),
        ({"status": "draft"}, "MedicationRequest.status"),
        ({"intent": "proposal"}, "MedicationRequest.intent"),
        ({"medicationReference": {"reference": "Medication/m1"}}, "MedicationRequest.medicationReference"),
        ({"contained": [{"resourceType": "Medication", "id": "ketamine-product", "code": {"text": "midazolam"},
                         "ingredient": [{"itemCodeableConcept": {"text": "midazolam"}}]}]},
         "MedicationRequest.medication"),
        ({"subject": {"reference": "Group/1"}}, "MedicationRequest.subject"),
        ({"basedOn": []}, "MedicationRequest.basedOn"),
        ({"dispenseRequest": {}}, "MedicationRequest.dispenseRequest.numberOfRepeatsAllowed"),
        ({"dosageInstruction": _dosage_with(route={"text": "IM"})}, "MedicationRequest.dosageInstruction[0].route"),
        (
            {"dosageInstruction": _dosage_with(timing={"repeat": {"duration": 1, "durationUnit": "h"}})},
            "MedicationRequest.dosageInstruction[0].timing.repeat.durationUnit",
        ),
        (
            {
                "dosageInstruction": _dosage_with(
                    doseAndRate=fhir_medication_request()["dosageInstruction"][0]["doseAndRate"][:1]
                )
            },
            "MedicationRequest.dosageInstruction[0].doseAndRate",
        ),
    ],
)
def test_unmappable_medication_request_names_the_element(changes, field):
    with pytest.raises(FhirMappingError) as error:
        active_order_from_fhir(fhir_medication_request(**changes), fhir_care_plan())
    assert error.value.field == field


def test_dose_in_the_wrong_unit_is_refused():
    request = fhir_medication_request()
    request["dosageInstruction"][0]["doseAndRate"][1]["doseQuantity"]["code"] = "mL"
    with pytest.raises(FhirMappingError) as error:
        active_order_from_fhir(request, fhir_care_plan())
    assert error.value.field == "MedicationRequest.dosageInstruction[0].doseAndRate[calculated].doseQuantity"
    assert "expected unit 'mg'" in error.value.message


def test_structurally_invalid_input_fails_validation_first():
    with pytest.raises(FhirValidationError):
        active_order_from_fhir(fhir_medication_request(dosage="oops"), fhir_care_plan())


def test_care_plan_must_match_the_order():
    with pytest.raises(FhirMappingError, match="not the order's series"):
        active_order_from_fhir(
            fhir_medication_request(),
            fhir_care_plan(
                identifier=[{"system": "https://ketalink.example.org/fhir/identifier/series", "value": "ser-9"}]
            ),
        )
    with pytest.raises(FhirMappingError, match="different patients"):
        active_order_from_fhir(fhir_medication_request(), fhir_care_plan(subject={"reference": "Patient/other"}))
    with pytest.raises(FhirMappingError) as error:
        active_order_from_fhir(fhir_medication_request(), fhir_care_plan(activity_count=5))
    assert error.value.field == "CarePlan.activity" and "5 activities for 6 infusions" in error.value.message


def test_care_plan_activity_problems_name_the_activity():
    plan = fhir_care_plan()
    plan["activity"][2]["detail"]["status"] = "in-progress"
    with pytest.raises(FhirMappingError) as error:
        active_order_from_fhir(fhir_medication_request(), plan)
    assert error.value.field == "CarePlan.activity[2].detail.status"
    plan = fhir_care_plan()
    plan["activity"][1]["detail"]["scheduledPeriod"]["start"] = "2026-03-05T09:00:00"  # FHIR needs the offset
    with pytest.raises(FhirValidationError) as error:
        active_order_from_fhir(fhir_medication_request(), plan)
    assert error.value.issues[0][0] == "CarePlan.activity[1].detail.scheduledPeriod.start"
    plan = fhir_care_plan()
    plan["activity"][1]["detail"]["scheduledPeriod"]["start"] = "2026-03-05"  # a date alone has no time
    with pytest.raises(FhirMappingError) as error:
        active_order_from_fhir(fhir_medication_request(), plan)
    assert error.value.field == "CarePlan.activity[1].detail.scheduledPeriod.start"
    plan = fhir_care_plan()
    plan["activity"][1]["detail"]["code"] = {"text": "infusion"}
    with pytest.raises(FhirMappingError) as error:
        active_order_from_fhir(fhir_medication_request(), plan)
    assert error.value.field == "CarePlan.activity[1].detail.code"
