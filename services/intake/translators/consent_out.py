"""ConsentRecord → FHIR R4 Consent (contract: identifier kind ``consent`` = intake id; status active when given,
rejected when refused, proposed while not recorded; performer = who consented; policy[0].uri = consent text).

The IV ketamine consent is the top provision (permit / deny); the ride-home agreement is its own nested
provision coded ``ketalink#ride-home-agreement`` (permit = agreed, deny = not agreed); each consent element explained
and acknowledged (issue 13, defect 15) is a nested ``permit`` provision coded ``ketalink#consent-element-<key>``
with the element's words as its text, so the EHR's Consent shows what the patient was told and acknowledged.
"""
from __future__ import annotations

from services.intake.domain.consent import ConsentDecision, ConsentRecord, ConsentSigner
from services.intake.translators.codes import (
    CONSENT_CATEGORY_PATIENT_CONSENT,
    CONSENT_KIND,
    CONSENT_SCOPE_TREATMENT,
    CONSENT_TEXT_BASE,
    RIDE_HOME_AGREEMENT,
    consent_element_code,
)
from services.intake.translators.common import FhirJson
from shared.fhir.codes import KETAMINE_INFUSION_PROCEDURE
from shared.fhir.datatypes import codeable_concept, identifier, instant, reference
from shared.fhir.validate import validate_resource


def consent_policy_uri(consent_text_version: str) -> str:
    return f"{CONSENT_TEXT_BASE}/{consent_text_version}"


def consent_to_fhir(consent: ConsentRecord | None, patient_id: str, intake_id: str) -> FhirJson:
    resource: FhirJson = {
        "resourceType": "Consent",
        "identifier": [identifier(CONSENT_KIND, intake_id)],
        "status": "proposed",
        "scope": codeable_concept(CONSENT_SCOPE_TREATMENT),
        "category": [codeable_concept(CONSENT_CATEGORY_PATIENT_CONSENT)],
        "patient": reference("Patient", patient_id),
    }
    if consent is None:
        resource["policyRule"] = {"text": "IV ketamine informed consent (not yet recorded)"}
        return validate_resource(resource)
    given = consent.decision is ConsentDecision.GIVEN
    resource["status"] = "active" if given else "rejected"
    resource["dateTime"] = instant(consent.signed_at)
    resource["performer"] = [_performer(consent, patient_id)]
    resource["policy"] = [{"uri": consent_policy_uri(consent.consent_text_version)}]
    resource["provision"] = {
        "type": "permit" if given else "deny",
        "code": [codeable_concept(KETAMINE_INFUSION_PROCEDURE)],
        "provision": [{
            "type": "permit" if consent.ride_home_agreed else "deny",
            "code": [codeable_concept(RIDE_HOME_AGREEMENT)],
        }] + [{
            "type": "permit",
            "code": [codeable_concept(consent_element_code(key), f"Explained and acknowledged: "
                                                               f"{consent_element_code(key).display}")],
        } for key in consent.elements_acknowledged],
    }
    return validate_resource(resource)


def _performer(consent: ConsentRecord, patient_id: str) -> FhirJson:
    if consent.signed_by is ConsentSigner.PATIENT:
        return reference("Patient", patient_id, consent.signer_name)
    return {"type": "RelatedPerson", "display": consent.signer_name}
