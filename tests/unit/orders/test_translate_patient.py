import pytest

from services.orders.domain.measurements import Sex
from shared.errors import FhirMappingError
from services.orders.translators.patient_in import patient_sex
from tests.unit.orders.builders import PATIENT


@pytest.mark.parametrize("gender, sex", [("male", Sex.MALE), ("female", Sex.FEMALE), ("other", Sex.OTHER),
                                         ("unknown", Sex.UNKNOWN), (None, Sex.UNKNOWN)])
def test_patient_gender_gives_the_sex(gender, sex):
    patient = {"resourceType": "Patient", "id": PATIENT}
    if gender:
        patient["gender"] = gender
    assert patient_sex(patient) is sex


def test_an_unknown_gender_code_is_refused():
    with pytest.raises(FhirMappingError) as caught:
        patient_sex({"resourceType": "Patient", "gender": "m"})
    assert caught.value.field == "Patient.gender"
