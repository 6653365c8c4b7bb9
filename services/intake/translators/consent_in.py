"""FHIR Consent written by consent_out → ConsentOnFile (what orders reads: is consent on file for this intake)."""
from __future__ import annotations

from services.intake.domain.consent import ConsentDecision, ConsentOnFile, ConsentRecord, ConsentSigner
from services.intake.translators.codes import CONSENT_KIND, CONSENT_TEXT_BASE, RIDE_HOME_AGREEMENT
from services.intake.translators.common import FhirJson, fhir_datetime, subject_patient_id, validated
from shared.errors import FhirMappingError
from shared.fhir.codes import KETALINK_LOCAL
from shared.fhir.datatypes import find_identifier, has_coding, reference_id

ELEMENT_PREFIX = "consent-element-"

_DECISIONS = {"active": ConsentDecision.GIVEN, "rejected": ConsentDecision.REFUSED}


def consent_from_fhir(consent: FhirJson) -> ConsentOnFile:
    validated(consent, "Consent")
    intake_id = find_identifier(consent, CONSENT_KIND)
    if not intake_id:
        raise FhirMappingError("Consent.identifier", "no Ketalink consent identifier (intake id)")
    patient_id = subject_patient_id(consent.get("patient"), "Consent.patient")
    status = consent["status"]
    if status == "proposed":
        return ConsentOnFile(intake_id, patient_id, None)
    if status not in _DECISIONS:
        raise FhirMappingError("Consent.status", f"status {status!r} is not one the intake writes")
    return ConsentOnFile(intake_id, patient_id, _record(consent, _DECISIONS[status]))


def _record(consent: FhirJson, decision: ConsentDecision) -> ConsentRecord:
    performer = (consent.get("performer") or [None])[0]
    if performer is None:
        raise FhirMappingError("Consent.performer", "who consented is required")
    by_patient = reference_id(performer, "Patient") is not None
    policy_uri = ((consent.get("policy") or [{}])[0]).get("uri") or ""
    if not policy_uri.startswith(f"{CONSENT_TEXT_BASE}/"):
        raise FhirMappingError("Consent.policy[0].uri", f"expected a consent text under {CONSENT_TEXT_BASE}/")
    ride_home = next(
        (p for p in (consent.get("provision") or {}).get("provision", [])
         if any(has_coding(c, RIDE_HOME_AGREEMENT) for c in p.get("code", []))),
        None,
    )
    if ride_home is None:
        raise FhirMappingError("Consent.provision.provision", "the ride-home agreement provision is missing")
    return ConsentRecord(
        decision=decision,
        signed_by=ConsentSigner.PATIENT if by_patient else ConsentSigner.LEGAL_REPRESENTATIVE,
        signer_name=performer.get("display"),
        signed_at=fhir_datetime(consent.get("dateTime"), "Consent.dateTime"),
        consent_text_version=policy_uri[len(CONSENT_TEXT_BASE) + 1:],
        ride_home_agreed=ride_home.get("type") == "permit",
        elements_acknowledged=_elements(consent),
    )


def _elements(consent: FhirJson) -> tuple[str, ...]:
    """The keys of the consent elements acknowledged (``permit`` provisions coded ``consent-element-<key>``)."""
    keys = []
    for provision in (consent.get("provision") or {}).get("provision", []):
        if provision.get("type") != "permit":
            continue
        for concept in provision.get("code", []):
            for coding in concept.get("coding", []):
                code = coding.get("code") or ""
                if coding.get("system") == KETALINK_LOCAL and code.startswith(ELEMENT_PREFIX):
                    keys.append(code[len(ELEMENT_PREFIX):])
    return tuple(keys)
