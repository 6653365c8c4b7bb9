"""The infusing page's server-side rules with Flask's test client (the app as ``bootstrap.build`` wires it, the real
EHR sandbox, a SMART session put straight into its store; fixtures shared with ``test_ui_forms``): BP, heart rate
and SpO2 charted together, error summaries in the fields' words, a stale vitals form refused, the End step
confirmed, an alert drawn as an alert with its action form beside it, and the status strip's JSON."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from zoneinfo import ZoneInfo

import pytest

from tests.support.clinic_zone import clinic_zone_of_the_tests

from tests.integration.documentation.test_ui_forms import (  # noqa: F401  (fixtures)
    CONFIRMED, HTML, _minute, _post, _session_status, _signed_in, app, nurse, patients, start_time,
)

pytestmark = pytest.mark.integration
SID = "ord-1-1"
SESSION = f"/ui/sessions/{SID}"
FULL = {"systolic_mmhg": "128", "diastolic_mmhg": "82", "heart_rate_per_min": "76", "spo2_percent": "98"}


@pytest.fixture
def infusing(app, patients, nurse, start_time):  # noqa: F811
    """A browser signed in as the nurse, session 1 of KL-1003 infusing (started 3 h ago); ``t(minutes)``."""
    client = _signed_in(app, patients["KL-1003"], nurse)

    def t(minutes: int) -> str:
        return _minute(start_time + timedelta(minutes=minutes))

    assert _post(client, f"{SESSION}/check-in", {"at": t(0)}).status_code == 303
    assert _post(client, f"{SESSION}/pre-check", {**CONFIRMED, "at": t(5), "reading.systolic_mmhg": "124",
                                                  "reading.diastolic_mmhg": "78", "reading.heart_rate_per_min": "76",
                                                  "reading.spo2_percent": "98"}).status_code == 303
    assert _post(client, f"{SESSION}/start", {"at": t(10)}).status_code == 303
    assert _session_status(client, SID) == "Infusing"
    return client, t


def _summary(html: str) -> str:
    return re.search(r'data-testid="error-summary">(.*?)</div>', html, re.S).group(1)


def test_bp_heart_rate_and_spo2_are_required_together_and_errors_name_the_fields_label(infusing):
    client, t = infusing
    page = client.get(SESSION, headers=HTML).get_data(as_text=True)
    form = re.search(r'data-testid="vitals-form".*?</form>', page, re.S).group(0)
    for name in FULL:  # the browser's own check first
        assert re.search(rf'name="{name}"[^>]*required', form), name
    assert form.index('name="systolic_mmhg"') < form.index('name="rass_score"') < form.index('name="at"')

    partial = _post(client, f"{SESSION}/vitals", {"at": t(25), "systolic_mmhg": "128", "diastolic_mmhg": "82"})
    html = partial.get_data(as_text=True)
    assert partial.status_code == 400
    summary = _summary(html)
    assert '<a href="#vitals-heart_rate_per_min">Heart rate (/min)</a>' in summary
    assert '<a href="#vitals-spo2_percent">SpO2 (%)</a>' in summary
    assert "charted together" in summary and "vitals." not in re.sub(r'href="[^"]*"', "", summary)
    assert 'id="vitals-spo2_percent-error"' in html  # the message next to the input too
    assert 'name="systolic_mmhg" value="128"' in html  # the form as typed

    inverted = _post(client, f"{SESSION}/vitals", {"at": t(25), **FULL, "diastolic_mmhg": "130"})
    summary = _summary(inverted.get_data(as_text=True))
    assert inverted.status_code == 400 and "Diastolic (mmHg)</a>" in summary and "reading." not in summary
    assert "Not recorded" not in client.get(SESSION, headers=HTML).get_data(as_text=True)  # nothing saved


def test_a_stale_vitals_form_is_refused_and_the_page_offers_a_fresh_one(infusing):
    client, t = infusing
    assert _post(client, f"{SESSION}/vitals", {"at": t(25), "reading_id": "r-once", **FULL}).status_code == 303
    again = _post(client, f"{SESSION}/vitals", {"at": t(40), "reading_id": "r-once", **FULL, "systolic_mmhg": "140"})
    html = again.get_data(as_text=True)
    assert again.status_code == 409 and "This form was already sent" in html
    fresh = re.search(r'name="reading_id" value="([^"]+)"', html).group(1)
    assert fresh != "r-once"
    page = client.get(SESSION, headers=HTML).get_data(as_text=True)
    assert page.count('data-reading-id="r-once"') == 1 and "140/" not in page  # charted once, not changed
    assert _post(client, f"{SESSION}/vitals", {"at": t(40), "reading_id": fresh, **FULL}).status_code == 303


def test_the_prefilled_time_left_as_is_means_now(infusing):
    client, t = infusing
    before = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    sent = _post(client, f"{SESSION}/vitals", {"at": t(20), "at_prefilled": t(20), "reading_id": "r-now", **FULL})
    assert sent.status_code == 303
    page = client.get(SESSION, headers=HTML).get_data(as_text=True)
    row = re.search(r'data-reading-id="r-now">\s*<td>([0-9:]+)</td>', page).group(1)
    zone = ZoneInfo(clinic_zone_of_the_tests())
    assert row != t(20)[-5:] and row in {(before + timedelta(minutes=m)).astimezone(zone).strftime("%H:%M")
                                         for m in (0, 1, 2)}


def test_ending_the_infusion_is_confirmed_first(infusing):
    client, t = infusing
    ask = client.get(f"{SESSION}?confirm=end&at={t(50)}", headers=HTML).get_data(as_text=True)
    assert 'data-testid="confirm-end"' in ask and f"End the infusion at {t(50)}?" in ask
    assert 'name="confirmed" value="yes"' in ask and _session_status(client, SID) == "Infusing"
    assert _post(client, f"{SESSION}/end", {"at": t(50), "confirmed": "yes"}).status_code == 303
    assert _session_status(client, SID) == "Recovering"
    assert 'data-testid="confirm-end"' not in client.get(f"{SESSION}?confirm=end", headers=HTML).get_data(as_text=True)


def test_an_alert_is_an_alert_with_its_action_form_beside_it(infusing):
    client, t = infusing
    raised = _post(client, f"{SESSION}/vitals", {"at": t(25), "reading_id": "r-hi", **FULL, "systolic_mmhg": "186",
                                                 "diastolic_mmhg": "104"})
    page = client.get(raised.headers["Location"], headers=HTML).get_data(as_text=True)
    box = re.search(r'<div class="alert-box" role="alert"[^>]*data-testid="alert">(.*?)</form>', page, re.S).group(1)
    assert "ALERT raised" in box and "systolic 186 mmHg" in box and 'data-testid="alert-action-form"' in box
    assert 'class="notice"' not in page  # not the green success bar
    assert page.index('data-testid="alert-action-form"') < page.index('data-testid="readings"')
    assert page.index('data-testid="vitals-form"') < page.index('id="next-step"')  # charting comes first


def test_the_status_json_follows_what_is_charted(infusing, app, patients, nurse):  # noqa: F811
    client, t = infusing
    first = client.get(f"{SESSION}/status", headers={"Accept": "application/json"}).get_json()
    assert first["status"] == "infusing" and first["readings"] == 0 and first["readings_missed"] > 0
    assert re.fullmatch(r"\d\d:\d\d", first["next_reading_due"]) and first["next_reading_in_s"] is not None
    assert _post(client, f"{SESSION}/vitals", {"at": t(25), **FULL, "systolic_mmhg": "186",
                                               "diastolic_mmhg": "104"}).status_code == 303
    after = client.get(f"{SESSION}/status", headers={"Accept": "application/json"}).get_json()
    assert after["readings"] == 1 and after["open_alerts"] == 1 and after["version"] != first["version"]
    other = _signed_in(app, patients["KL-1004"], nurse, cookie="cookie-other")
    assert other.get(f"{SESSION}/status", headers={"Accept": "application/json"}).status_code == 403
