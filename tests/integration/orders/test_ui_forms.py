"""The orders pages with Flask's test client: the app as ``bootstrap.build`` wires it, reading the real EHR sandbox
(seeded patients KL-1001 and KL-1002), with a SMART session put straight into its store as the launch callback
would. What the browser test cannot show cheaply: the CSRF guard, refusals shown next to their field, and another
patient's order refused."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from deploy.ehr_sandbox.seed import MRN_SYSTEM
from services.orders.bootstrap import build
from services.orders.domain.eligibility import EligibilityDecision, EligibilityStatus
from services.orders.repository import OrdersRepository
from shared.roles import ATTESTATIONS
from shared.ui.clinician import fhir_user_reference
from tests.support.backend_auth import ehr_client
from tests.support.practitioners import prescriber, registered_nurse
from tests.support.smart_sessions import signed_in
from tests.support.in_process import smart_service_runtime

pytestmark = pytest.mark.integration
ORIGIN = {"Origin": "http://localhost", "Accept": "text/html"}  # as a browser posts a form


@pytest.fixture
def patients(ehr) -> dict[str, str]:
    """MRN → EHR Patient id of the seeded patients used here."""
    return {mrn: ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|{mrn}"})[0]["id"]
            for mrn in ("KL-1001", "KL-1002")}


@pytest.fixture
def stack(tmp_path, monkeypatch, ehr):
    runtime = smart_service_runtime("orders", tmp_path, monkeypatch, ehr)
    app, _handlers, _responses = build(runtime)
    return app, runtime, ehr.base_url


def _client(stack, patient_id: str, cookie: str):
    """A browser with a SMART session for ``patient_id``, signed in as a registered nurse (a Practitioner of the
    EHR: who acts is always the launch's fhirUser)."""
    app, _runtime, iss = stack
    return signed_in(app, patient_id, fhir_user=registered_nurse(ehr_client(iss)).fhir_user,
                     scope="launch openid fhirUser patient/*.rs user/*.cruds", cookie=cookie, iss=iss)


def _csrf(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([0-9a-f]+)"', page).group(1).decode()


def _eligible(runtime, patient_id: str) -> None:
    with runtime.engine.begin() as conn:
        OrdersRepository().save_eligibility(conn, EligibilityDecision(
            patient_id, "intake-1", EligibilityStatus.ELIGIBLE, True, datetime.now(timezone.utc)))


def _order_form(token: str, **changes: str) -> dict[str, str]:
    today = datetime.now(timezone.utc).date().isoformat()
    form = {"csrf_token": token, "mg_per_kg": "0.5", "duration_min": "40", "weight_basis": "actual",
            "start_date": today, "infusions_per_week": "2", "infusion_count": "6", "override_reason": "",
            "override_authorised_by": "", "created_by": "Dr. Test"}
    return form | changes


def _error_of(page: bytes, field: str) -> str:
    found = re.search(rf'id="{re.escape(field)}-error"\s*>(.*?)</p>'.encode(), page, re.S)
    return found.group(1).decode().strip() if found else ""


def test_the_home_page_shows_the_patient_in_context(stack, patients):
    page = _client(stack, patients["KL-1001"], "cookie-1").get("/")
    assert page.status_code == 200
    assert b"Maria Elena Gonzalez" in page.data and b"No intake decision on file" in page.data
    assert b"68.4 kg" in page.data


def test_a_form_post_needs_the_session_token_and_this_origin(stack, patients):
    _app, runtime, _iss = stack
    _eligible(runtime, patients["KL-1001"])
    client = _client(stack, patients["KL-1001"], "cookie-1")
    token = _csrf(client.get("/ui/orders/new").data)
    no_token = client.post("/ui/orders", data=_order_form(""), headers=ORIGIN)
    assert no_token.status_code == 403 and b'data-smart-error="csrf"' in no_token.data
    other_session = _client(stack, patients["KL-1001"], "cookie-2")
    assert other_session.post("/ui/orders", data=_order_form(token), headers=ORIGIN).status_code == 403
    # the EHR's port: the same site (SameSite=Lax lets the cookie through), but another origin
    elsewhere = client.post("/ui/orders", data=_order_form(token), headers={"Origin": "http://127.0.0.1:8090"})
    assert elsewhere.status_code == 403
    no_origin = client.post("/ui/orders", data=_order_form(token))
    assert no_origin.status_code == 403
    by_referer = client.post("/ui/orders", data=_order_form(token),
                             headers={"Referer": "http://localhost/ui/orders/new"})
    assert by_referer.status_code == 303


def test_order_entry_shows_each_problem_next_to_its_field(stack, patients):
    client = _client(stack, patients["KL-1001"], "cookie-1")
    token = _csrf(client.get("/ui/orders/new").data)
    page = client.post("/ui/orders", data=_order_form(token, mg_per_kg="abc", created_by="Dr. Somebody Else"),
                       headers=ORIGIN)
    assert page.status_code == 400
    assert _error_of(page.data, "mg_per_kg") == "Error: enter a number"
    assert b'data-testid="ordered-by">Robin Nurse<' in page.data  # the signed-in clinician, not the typed name
    assert b'href="#mg_per_kg"' in page.data  # the error summary links to the field
    # the domain's rules: not eligible (422), and a dose above the clinic maximum without an override
    refused = client.post("/ui/orders", data=_order_form(token, mg_per_kg="1.2"), headers=ORIGIN)
    assert refused.status_code == 422
    assert b"no intake eligibility decision is on file" in refused.data
    assert "a documented override is needed" in _error_of(refused.data, "mg_per_kg")
    preview = client.post("/ui/orders/preview", data=_order_form(token, duration_min="90"), headers=ORIGIN)
    assert preview.status_code == 400 and "90 min is outside" in _error_of(preview.data, "duration_min")


def test_create_sign_hold_with_the_reason_required_and_another_patient_refused(stack, patients, ehr):
    app, runtime, iss = stack
    _eligible(runtime, patients["KL-1001"])
    client = _client(stack, patients["KL-1001"], "cookie-1")
    token = _csrf(client.get("/ui/orders/new").data)
    created = client.post("/ui/orders", data=_order_form(token), headers=ORIGIN)
    assert created.status_code == 303
    location = created.headers["Location"]
    order_path = location.split("?", 1)[0]
    review = client.get(location)
    assert b'data-status="draft"' in review.data and b"Draft order created" in review.data
    assert review.data.count(b'data-testid="infusion-row"') == 6

    # Only a prescriber signs (defect 21): a registered nurse is refused with the reason
    unnamed = client.post(f"{order_path}/sign", data={"csrf_token": token, "by": "Dr. Test", "sign-attested": "yes"},
                          headers=ORIGIN)
    assert unnamed.status_code == 403 and b"Only a prescriber may sign an order" in unnamed.data
    as_nurse = signed_in(app, patients["KL-1001"], fhir_user=registered_nurse(ehr.client).fhir_user,
                         scope="launch openid fhirUser patient/*.rs user/*.cruds", cookie="cookie-nurse", iss=iss)
    refused = as_nurse.post(f"{order_path}/sign", data={"csrf_token": _csrf(as_nurse.get(location).data),
                                                        "sign-attested": "yes"}, headers=ORIGIN)
    assert refused.status_code == 403 and b"Registered nurse" in refused.data and b"Prescriber needed" in refused.data
    api = as_nurse.post(f"/orders/{order_path.rsplit('/', 1)[-1]}/sign", headers={"Accept": "application/fhir+json"},
                        json={"signed_by": "Robin Nurse", "attested": True})  # the JSON API: an OperationOutcome
    assert api.status_code == 403 and "Only a prescriber may sign an order" in api.get_json()["issue"][0]["diagnostics"]
    doctor = prescriber(ehr.client)
    client = signed_in(app, patients["KL-1001"], fhir_user=doctor.fhir_user,
                       scope="launch openid fhirUser patient/*.rs user/*.cruds", cookie="cookie-doctor", iss=iss)
    token = _csrf(client.get(location).data)
    assert b'data-testid="attestation"' in client.get(location).data
    unattested = client.post(f"{order_path}/sign", data={"csrf_token": token}, headers=ORIGIN)
    assert unattested.status_code == 400 and "tick the attestation" in _error_of(unattested.data, "sign-attested")
    signed = client.post(f"{order_path}/sign", data={"csrf_token": token, "sign-attested": "yes"}, headers=ORIGIN)
    assert signed.status_code == 303 and signed.headers["Location"].endswith("?done=signed")
    with runtime.engine.connect() as conn:
        signing = OrdersRepository().get_order(conn, order_path.rsplit("/", 1)[-1]).current.order.signing
    assert (signing.changed_by.display, signing.attestation) == (doctor.name, ATTESTATIONS["sign-order"])
    assert signing.changed_by.reference == fhir_user_reference(doctor.fhir_user)  # by reference
    no_reason = client.post(f"{order_path}/hold", data={"csrf_token": token, "by": "Nurse", "reason": " "},
                            headers=ORIGIN)
    assert no_reason.status_code == 400 and "a reason is required" in _error_of(no_reason.data, "hold-reason")
    again = client.post(f"{order_path}/sign", data={"csrf_token": token, "sign-attested": "yes"}, headers=ORIGIN)
    assert again.status_code == 409 and b"cannot change an order from" in again.data

    other = _client(stack, patients["KL-1002"], "cookie-3")
    assert other.get(order_path, headers={"Accept": "text/html"}).status_code == 403
    other_token = _csrf(other.get("/ui/orders/new").data)
    cancel = other.post(f"{order_path}/cancel", data={"csrf_token": other_token, "by": "x", "reason": "y"},
                        headers=ORIGIN)
    assert cancel.status_code == 403
    assert b'data-status="active"' in client.get(order_path).data
