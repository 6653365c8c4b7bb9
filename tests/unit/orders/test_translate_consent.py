import pytest

from services.orders.translators.consent_in import consent_from_resource
from services.orders.translators.eligibility_in import eligibility_from_resources
from shared.errors import FhirMappingError
from tests.unit.orders.builders import INTAKE, PATIENT, consent, risk_assessment


@pytest.mark.parametrize("consents", [
    [],
    [consent("rejected")],
    [consent("proposed")],
    [consent(intake_id="intake-0")],       # an older intake's consent
    [consent(patient_id="patient-2")],     # another patient's consent
])
def test_consent_is_on_file_only_when_active_for_the_same_intake_and_patient(consents):
    assert eligibility_from_resources([risk_assessment(), *consents]).consent_on_file is False


def test_consent_resource_reads_intake_patient_and_status():
    record = consent_from_resource(consent())
    assert (record.intake_id, record.patient_id, record.given) == (INTAKE, PATIENT, True)
    without_id = consent()
    without_id["identifier"] = []
    with pytest.raises(FhirMappingError) as caught:
        consent_from_resource(without_id)
    assert caught.value.field == "Consent.identifier"
