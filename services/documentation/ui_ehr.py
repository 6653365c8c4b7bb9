"""What the pages read from the EHR as the signed-in clinician (their SMART access token, never the service's own
access) beyond the UI kit's banner and name: the patient's latest eligibility decision, shown in the banner."""
from __future__ import annotations

from shared.fhir.client import FhirClient, FhirError
from shared.fhir.codes import KETALINK_LOCAL

ELIGIBILITY_CODE = f"{KETALINK_LOCAL}|ketamine-eligibility"  # RiskAssessment.code of intake's decision
ELIGIBILITY_OUTCOMES = ("eligible", "not-eligible", "needs-review")


def latest_eligibility(client: FhirClient, patient_id: str) -> str | None:
    """The outcome of the latest eligibility RiskAssessment intake sent to the EHR, or None when it has none."""
    try:
        found = client.search_first_page("RiskAssessment", {"subject": f"Patient/{patient_id}",
                                                            "code": ELIGIBILITY_CODE, "_count": 50})
    except FhirError:
        return None
    decisions = sorted((r for r in found if r.get("status") in ("final", "amended", "corrected")),
                       key=lambda r: r.get("occurrenceDateTime") or "")
    for decision in reversed(decisions):
        for prediction in decision.get("prediction") or []:
            for coding in (prediction.get("outcome") or {}).get("coding") or []:
                if coding.get("system") == KETALINK_LOCAL and coding.get("code") in ELIGIBILITY_OUTCOMES:
                    return str(coding["code"])
    return None
