"""What the intake reads from the EHR's FHIR API, through the translators-in: the patient summary, the problem list,
the medication history, the latest body weight and height, and a referral (ServiceRequest) by id.

The EHR's failures become three errors the callers can act on: the patient (or referral) is not there, the EHR is
unreachable (try again later), or the EHR holds data the intake cannot read (names the resource and the field).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from services.intake.domain.conditions import EXCLUDED_VERIFICATION_STATUSES, ConditionRecord
from services.intake.domain.medications import MedicationEntry
from services.intake.domain.patient import PatientSummary
from services.intake.domain.vitals import BaselineVitals
from services.intake.translators.condition_in import condition_from_fhir
from shared.errors import FhirMappingError
from services.intake.translators.medication_statement_in import medication_entry_from_fhir
from services.intake.translators.observation_vitals_in import vitals_from_fhir
from services.intake.translators.patient_in import patient_summary_from_fhir
from shared.fhir.capabilities import read, search
from shared.fhir.client import FhirClient, FhirError, FhirInvalid, FhirNotFound, FhirUnavailable
from shared.fhir.codes import BODY_HEIGHT, BODY_WEIGHT, Code
from shared.fhir.datatypes import FhirJson
from shared.fhir.validate import FhirValidationError
from shared.fhir.vital_signs import USABLE_STATUSES

T = TypeVar("T")

# What these reads need of the EHR, checked against its CapabilityStatement at start-up (shared/fhir/capabilities.py).
EHR_NEEDS = (
    read("Patient", "the intake's patient summary"),
    search("Condition", ("patient",), "the problem list"),
    search("MedicationStatement", ("patient",), "the medication history"),
    search("Observation", ("patient", "code", "status", "date"), "the latest weight and height"),
    read("ServiceRequest", "a referral"),
)


class EhrError(Exception):
    """Base of the EHR read errors."""


class EhrUnavailable(EhrError):
    """The EHR did not answer (or answered 5xx) after the client's retries: the work should be tried again later."""


class EhrRefused(EhrError):
    """The EHR answered a read with an error other than not-found (e.g. 401/403, an unsupported search)."""


class EhrNotFound(EhrError):
    """The resource the caller named (``field``: the request field that named it) is not in the EHR."""

    def __init__(self, reference: str, field: str):
        self.reference = reference
        self.field = field
        super().__init__(f"{reference} is not in the EHR")


class EhrDataError(EhrError):
    """A resource the EHR returned cannot be read: ``reference`` (Type/id) and ``field`` (FHIRPath) say where."""

    def __init__(self, reference: str, field: str, message: str):
        self.reference = reference
        self.field = field
        self.message = message
        super().__init__(f"EHR {reference}: {field}: {message}")


@dataclass(frozen=True)
class EhrPatientRecord:
    """What the intake pre-fills from the EHR; ``vitals`` holds the latest weight and height, with their EHR ids."""

    patient: PatientSummary
    conditions: tuple[ConditionRecord, ...]
    medications: tuple[MedicationEntry, ...]
    vitals: BaselineVitals


class EhrReader:
    def __init__(self, fhir: FhirClient):
        self._fhir = fhir

    def patient_record(self, patient_id: str, as_of: date, patient_field: str = "patient_id") -> EhrPatientRecord:
        """Everything the intake pre-fills; EhrNotFound (naming ``patient_field``) when the patient is unknown.

        The Patient comes with the latest weight, in one search (``_include=Observation:subject``); it is read on
        its own when the search brought no weight (none recorded, or an unknown patient: the read says which) or
        an EHR did not include exactly this patient, or refused ``_include``. Four requests instead of five for a
        patient with a weight (docs/performance.md, "Issue 19")."""
        weight_found, patient_found = self._latest_weight_and_patient(patient_id, patient_field)
        patient = patient_found or self._call(lambda: self._fhir.read("Patient", patient_id), f"Patient/{patient_id}",
                                              patient_field)
        summary = _translate(patient, lambda: patient_summary_from_fhir(patient, as_of))
        conditions = tuple(
            record for record in (_translate(c, lambda c=c: condition_from_fhir(c))
                                  for c in self._search("Condition", {"patient": patient_id}))
            if record.verification_status not in EXCLUDED_VERIFICATION_STATUSES
        )
        medications = tuple(_translate(s, lambda s=s: medication_entry_from_fhir(s))
                            for s in self._search("MedicationStatement", {"patient": patient_id}))
        weight = _translate(weight_found, lambda: vitals_from_fhir(weight_found)) if weight_found else None
        height = self._latest_measure(patient_id, BODY_HEIGHT)
        return EhrPatientRecord(summary, conditions, medications, BaselineVitals(
            weight_kg=weight.weight_kg if weight else None, height_cm=height.height_cm if height else None))

    def service_request(self, service_request_id: str, field: str = "referral_id") -> FhirJson:
        reference = f"ServiceRequest/{service_request_id}"
        return self._call(lambda: self._fhir.read("ServiceRequest", service_request_id), reference, field)

    def _latest_measure(self, patient_id: str, code: Code) -> BaselineVitals | None:
        """The newest usable Observation of ``code``: one page, never the whole history, and only that one is
        translated (an odd old reading does no harm)."""
        found = self._call(lambda: self._search_latest(patient_id, code), "Observation", None)
        if not found:
            return None
        latest = found[0]
        return _translate(latest, lambda: vitals_from_fhir(latest))

    def _search_latest(self, patient_id: str, code: Code) -> list[FhirJson]:
        """One page of the patient's usable Observations of ``code``, newest first, fresh (the client never caches)."""
        params = {"patient": patient_id, "code": f"{code.system}|{code.code}",
                  "status": ",".join(sorted(USABLE_STATUSES)), "_sort": "-date", "_count": "1"}
        return self._fhir.search_first_page("Observation", params)

    def _latest_weight_and_patient(self, patient_id: str, patient_field: str
                                   ) -> tuple[FhirJson | None, FhirJson | None]:
        """(the newest usable weight Observation, the Patient it names) from one search, fresh like every search;
        the Patient is None unless the EHR included exactly this patient."""
        def search() -> tuple[list[FhirJson], list[FhirJson]] | None:
            params = {"patient": patient_id, "code": f"{BODY_WEIGHT.system}|{BODY_WEIGHT.code}",
                      "status": ",".join(sorted(USABLE_STATUSES)), "_sort": "-date", "_count": "1",
                      "_include": "Observation:subject"}
            try:
                return self._fhir.search_first_page_with_included("Observation", params)
            except FhirInvalid:  # an EHR that refuses _include here: the weight alone, the Patient read after
                return self._search_latest(patient_id, BODY_WEIGHT), []
            except FhirNotFound:  # some EHRs answer a search naming an unknown patient so
                return None

        answer = self._call(search, "Observation", None)
        if answer is None:
            # The read names the unknown patient (EhrNotFound on ``patient_field``); a known one leaves the refusal.
            self._call(lambda: self._fhir.read("Patient", patient_id), f"Patient/{patient_id}", patient_field)
            raise EhrRefused("the EHR answered not-found to a search for Observation")
        matches, included = answer
        patient = next((r for r in included if r.get("resourceType") == "Patient" and r.get("id") == patient_id), None)
        return (matches[0] if matches else None), patient

    def _search(self, resource_type: str, params: dict[str, str]) -> list[FhirJson]:
        return self._call(lambda: self._fhir.search(resource_type, params), resource_type, None)

    @staticmethod
    def _call(read: Callable[[], T], reference: str, not_found_field: str | None) -> T:
        try:
            return read()
        except FhirNotFound:
            if not_found_field is None:
                raise EhrRefused(f"the EHR answered not-found to a search for {reference}") from None
            raise EhrNotFound(reference, not_found_field) from None
        except FhirUnavailable as error:
            raise EhrUnavailable(f"the EHR is unavailable: {error}") from None
        except FhirError as error:
            raise EhrRefused(f"the EHR refused reading {reference}: HTTP {error.status}") from None


def _translate(resource: FhirJson, translate: Callable[[], T]) -> T:
    """Run a translator-in; its errors become EhrDataError naming the resource and the field."""
    reference = f"{resource.get('resourceType', 'resource')}/{resource.get('id', '?')}"
    try:
        return translate()
    except FhirMappingError as error:
        raise EhrDataError(reference, error.field, error.message) from None
    except FhirValidationError as error:
        where, what = error.issues[0]
        raise EhrDataError(reference, where, what) from None

