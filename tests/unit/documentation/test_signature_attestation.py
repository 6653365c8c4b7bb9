"""Issue 13 defect 21: the attestation a prescriber ticks when signing the note is kept on the note and travels with
the signature to the EHR (the signature Provenance's ``prescriber-attestation`` extension)."""
from __future__ import annotations

from services.documentation.domain.note import sign_note
from services.documentation.translators.codes import PRESCRIBER_ATTESTATION_EXTENSION
from services.documentation.translators.provenance_signature_out import signature_provenance
from shared.roles import ATTESTATIONS

from .test_translate_session_resources import notes


def test_the_signature_provenance_carries_the_prescribers_attestation():
    draft, signed_before_attestations, _ = notes()
    signed = sign_note(draft, signed_before_attestations.signed_by, signed_before_attestations.signed_at,
                       attestation=ATTESTATIONS["sign-note"])
    assert signed.attestation == ATTESTATIONS["sign-note"]
    (signature,) = signature_provenance(signed)["signature"]
    assert signature["extension"] == [{"url": PRESCRIBER_ATTESTATION_EXTENSION,
                                       "valueString": ATTESTATIONS["sign-note"]}]
    assert "extension" not in signature_provenance(signed_before_attestations)["signature"][0]
