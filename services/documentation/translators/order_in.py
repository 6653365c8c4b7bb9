"""The ``order-signed`` / ``order-changed`` focus (MedicationRequest + series CarePlan) → ActiveOrder."""

from __future__ import annotations

from dataclasses import fields

from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.order import ActiveOrder
from services.documentation.translators.care_plan_in import series_schedule_from_care_plan
from shared.errors import FhirMappingError
from services.documentation.translators.medication_request_in import ordered_infusion_from_medication_request
from shared.fhir.datatypes import FhirJson


def active_order_from_fhir(medication_request: FhirJson, care_plan: FhirJson) -> ActiveOrder:
    ordered = ordered_infusion_from_medication_request(medication_request)
    schedule = series_schedule_from_care_plan(care_plan)
    if schedule.series_id != ordered.series_id:
        raise FhirMappingError(
            "CarePlan.identifier", f"series {schedule.series_id} is not the order's series {ordered.series_id}"
        )
    if schedule.patient_id != ordered.patient_id:
        raise FhirMappingError("CarePlan.subject", "the CarePlan and MedicationRequest are about different patients")
    if len(schedule.occurrences) != ordered.infusion_count:
        raise FhirMappingError(
            "CarePlan.activity",
            f"{len(schedule.occurrences)} activities for {ordered.infusion_count} infusions "
            "(MedicationRequest.dispenseRequest.numberOfRepeatsAllowed + 1)",
        )
    try:
        # The MedicationRequest gives every field of the order except its schedule, which the CarePlan gives.
        return ActiveOrder(**{f.name: getattr(ordered, f.name) for f in fields(ordered)},
                           occurrences=schedule.occurrences)
    except DocumentationInputError as error:
        raise FhirMappingError(f"MedicationRequest ({error.field})", error.message) from None


def active_order_from_focus(resources: list[FhirJson]) -> ActiveOrder:
    """Pick the one MedicationRequest and one CarePlan out of a message's focus resources."""
    requests = [r for r in resources if r.get("resourceType") == "MedicationRequest"]
    plans = [r for r in resources if r.get("resourceType") == "CarePlan"]
    if len(requests) != 1:
        raise FhirMappingError("MedicationRequest", f"expected one in the focus, found {len(requests)}")
    if len(plans) != 1:
        raise FhirMappingError("CarePlan", f"expected one in the focus, found {len(plans)}")
    return active_order_from_fhir(requests[0], plans[0])
