"""The JSON Schemas of the orders API's answers (what ``presenters.py`` returns), by view, for the OpenAPI document:
derived from the records the presenters write (``shared/record_schema.py``) plus their own keys."""
from __future__ import annotations

from services.orders.domain.dose import DoseCalculation
from services.orders.domain.eligibility import EligibilityDecision
from services.orders.domain.order import StatusChange
from services.orders.domain.series import ScheduledInfusion
from shared.ehr_delivery.views import EHR_STATUS_SCHEMA
from shared.openapi import NOT_IN_EHR
from shared.people import Person
from shared.record_schema import (
    BOOLEAN, DATE, DATE_TIME, INTEGER, OBJECT, STRING, Answer, answer, array, nullable, obj, record_schema,
)

CALCULATION = record_schema(DoseCalculation)
INFUSION = record_schema(ScheduledInfusion)
SERIES = obj({"series_id": STRING, "patient_id": STRING, "phase": STRING, "status": STRING,
              "infusion_count": INTEGER, "completed_count": INTEGER, "scheduled_count": INTEGER,
              "cancelled_count": INTEGER, "next_infusion": nullable(INFUSION), "infusions": array(INFUSION),
              "reevaluation_due": nullable(DATE), "replaces_series_id": nullable(STRING), "created_at": DATE_TIME})
PATIENT_SERIES_ITEM = answer(None, **SERIES["properties"], order_id=STRING, order_status=STRING)

DOSE_PREVIEW = Answer("DosePreview", obj({"patient_id": STRING, "text": STRING, "calculation": CALCULATION}))
ORDER = Answer("Order", obj({
    "order_id": STRING, "patient_id": STRING, "status": STRING, "source": STRING, "ehr_request_id": nullable(STRING),
    "intake_id": nullable(STRING), "created_by": record_schema(Person), "created_at": DATE_TIME,
    "signed_by": nullable(record_schema(Person)), "text": STRING, "calculation": CALCULATION,
    "history": array(record_schema(StatusChange)), "series": SERIES}))
ORDER.schema["properties"]["ehr_status"] = EHR_STATUS_SCHEMA  # GET /orders/{id} only: not required
PATIENT_SERIES = Answer("PatientSeries", obj({"patient_id": STRING, "series": array(PATIENT_SERIES_ITEM)}))
ELIGIBILITY = Answer("Eligibility", answer(EligibilityDecision, may_order=BOOLEAN, reasons=array(OBJECT)))

#: Every view's answer; ``tests/unit/test_openapi_documents.py`` checks that none is left out.
ANSWERS = {
    "preview_dose": DOSE_PREVIEW, "not_in_ehr": NOT_IN_EHR, "patient_series": PATIENT_SERIES, "patient_eligibility": ELIGIBILITY,
    **{view: ORDER for view in ("create_order", "sign_order", "hold_order", "resume_order", "cancel_order",
                                "get_order")},
}
