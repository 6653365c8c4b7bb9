"""The course's ServiceRequest (a psychotherapy or integration referral): shape and round trip."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.orders.course.domain.psychotherapy import refer
from services.orders.course.domain.therapy import ReferralStatus, TherapyKind
from services.orders.course.translators.service_request_referral_in import referral_from_service_request
from services.orders.course.translators.service_request_referral_out import service_request_from_referral
from shared.errors import FhirMappingError

from tests.unit.orders.course.builders import CLINICIAN, COURSE, PATIENT, new_course

AT = datetime(2026, 11, 26, 8, 30, tzinfo=timezone.utc)


class TestReferral:
    def referral(self, **kwargs):
        course = refer(new_course(), "ref-1", TherapyKind.INTEGRATION, CLINICIAN, AT, "integration after infusions",
                       **kwargs)
        return course.referrals[0]

    def test_shape_and_round_trip(self):
        referral = self.referral(performer="Sam Therapist, LCSW", sessions_requested=6)
        resource = service_request_from_referral(referral, PATIENT, COURSE)
        assert (resource["status"], resource["intent"], resource["code"]["coding"][0]["code"]) == (
            "active", "order", "integration-referral")
        assert resource["basedOn"][0]["identifier"]["value"] == COURSE
        assert resource["requester"] == CLINICIAN.fhir_reference()
        assert resource["performer"] == [{"display": "Sam Therapist, LCSW"}]
        assert resource["quantityQuantity"] == {"value": 6}
        received = referral_from_service_request(resource)
        assert (received.patient_id, received.course_id, received.referral) == (PATIENT, COURSE, referral)

    def test_minimal_referral_and_status_from_the_ehr(self):
        referral = self.referral()
        resource = service_request_from_referral(referral, PATIENT, COURSE)
        assert "performer" not in resource and "quantityQuantity" not in resource
        resource["status"] = "completed"
        assert referral_from_service_request(resource).referral.status is ReferralStatus.COMPLETED
        resource["status"] = "draft"
        with pytest.raises(FhirMappingError) as error:
            referral_from_service_request(resource)
        assert error.value.field == "ServiceRequest.status"

    def test_the_course_is_required(self):
        resource = service_request_from_referral(self.referral(), PATIENT, COURSE)
        del resource["basedOn"]
        with pytest.raises(FhirMappingError) as error:
            referral_from_service_request(resource)
        assert error.value.field == "ServiceRequest.basedOn"
