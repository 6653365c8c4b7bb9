"""Who sees what of the clinic's "not in the EHR" list (shared/ui/ehr_status.py) and its page: a patient-bound
launch sees its patient's rows in full and others' as ids and statuses; a user-level grant sees every row; without
credentials it is 401; the page links the other services' lists, not its own."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from flask import Flask, g

from shared.ehr_delivery import Delivery, EhrStatus, EhrStatusSettings
from shared.smart import SmartAuthError, SmartContext
from shared.ui import install_ui
from shared.ui.ehr_status import install_ehr_status, outstanding_view, render_not_in_ehr, row_visibility

TYPES = {"note": "DocumentReference"}
SENT_AT = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


def _delivery(record_id: str, patient_id: str, status: EhrStatus = EhrStatus.REFUSED) -> Delivery:
    return Delivery(f"m-{record_id}", "note-signed", "note", record_id, patient_id, SENT_AT, status,
                    ("Patient/p merged into another record",), SENT_AT, True)


def _context(scopes: str, patient: str | None) -> SmartContext:
    return SmartContext("session", "https://ehr.example/fhir", "token", tuple(scopes.split()), patient, None,
                        "Practitioner/dr")


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    install_ui(app, "Documentation")
    install_ehr_status(app, EhrStatusSettings(status_peers=("http://127.0.0.1:8101", "http://127.0.0.1:8103")))
    return app


@pytest.mark.parametrize("scopes, patient, full_for", [
    ("patient/*.cruds", "p1", {"n1"}),  # a launch from p1's chart: p1's row in full, p2's ids and status only
    ("patient/*.cruds user/*.rs", "p1", {"n1"}),  # bound to p1 whatever else it holds
    ("user/*.rs", None, {"n1", "n2"}),  # a user-level launch: the EHR bounds what the user sees
    ("patient/*.cruds", None, set()),  # patient scopes and no patient: nothing in full
    ("user/Practitioner.rs", None, set()),  # no scope that reads the record's type
])
def test_rows_are_shown_in_full_only_where_the_caller_may_read_the_record(app, scopes, patient, full_for):
    deliveries = [_delivery("n1", "p1"), _delivery("n2", "p2")]
    with app.test_request_context("/ui/not-in-ehr"):
        g.smart_context = _context(scopes, patient)
        view = outstanding_view(deliveries, TYPES, lambda d: f"/ui/notes/{d.record_id}")
    shown = {row["record_id"] for row in view["records"] if not row["detail_withheld"]}
    assert shown == full_for
    for row in view["records"]:
        assert (row["reasons"] is None and row["patient_id"] is None) is (row["record_id"] not in full_for)
        assert row["status"] == "refused" and row["message_id"] == f"m-{row['record_id']}"


def test_no_credentials_is_401_and_smart_off_shows_everything(app):
    with app.test_request_context("/ui/not-in-ehr"):
        with pytest.raises(SmartAuthError) as refused:
            row_visibility(TYPES)
        assert refused.value.status == 401
        g.smart_auth_required = False  # a local run with SMART off: nobody to check
        assert row_visibility(TYPES)(_delivery("n1", "p1")) is True


def test_the_page_lists_the_rows_and_links_the_other_services_lists(app):
    deliveries = [_delivery("n1", "p1"), _delivery("n2", "p2", EhrStatus.RETRYING)]
    with app.test_request_context("/ui/not-in-ehr", base_url="http://127.0.0.1:8103"):
        g.smart_context = _context("patient/*.cruds", "p1")
        view = outstanding_view(deliveries, TYPES, lambda d: f"/ui/notes/{d.record_id}")
        html = render_not_in_ehr(view, "Documentation", "Dr. Okoye").get_data(as_text=True)
    assert 'href="http://127.0.0.1:8101/ui/not-in-ehr"' in html
    assert "127.0.0.1:8103/ui/not-in-ehr" not in html  # its own list is this page
    assert html.count('data-testid="not-in-ehr-row"') == 2
    assert "Patient/p merged into another record" in html  # p1's row, in full
    assert "Another patient's record: open that patient's chart to see why." in html  # p2's row
    assert html.count("merged into another record") == 1
    assert 'href="/ui/notes/n2"' in html
