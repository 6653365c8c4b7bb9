"""The clinician's steps in the EHR sandbox, as a browser takes them."""
from __future__ import annotations

import requests

from shared.smart.sessions import SmartSession, digest
from tests.integration.smart.conftest import PASSWORD, SmartEhr
from tests.integration.smart.support import Browser, RunningApp


def sign_in_if_asked(browser: Browser, page: requests.Response, user: str = "nurse.ng") -> requests.Response:
    if "/smart/login" in page.url:
        page = browser.submit(page, values={"username": user, "password": PASSWORD})
        assert page.status_code == 200, page.text
    return page


def open_from_chart(browser: Browser, ehr: SmartEhr, app: RunningApp, patient_id: str,
                    user: str = "nurse.ng") -> requests.Response:
    """Chart → launch button → the app's /launch → EHR sign-in → the approval page."""
    chart = browser.get(f"{ehr.root}/chart")
    assert chart.status_code == 200
    page = browser.submit(chart, where={"patient": patient_id, "app": app.client_id})
    page = sign_in_if_asked(browser, page, user)
    assert "/smart/authorize" in page.url and "Approve" in page.text, page.text
    return page


def ehr_launch(browser: Browser, ehr: SmartEhr, app: RunningApp, patient_id: str) -> requests.Response:
    """A whole EHR launch, approved: ends on the app's landing page (its /smart/session JSON)."""
    landing = browser.submit(open_from_chart(browser, ehr, app, patient_id), button="approve")
    assert landing.status_code == 200, landing.text
    return landing


def session_of(browser: Browser, app: RunningApp) -> SmartSession | None:
    cookie = browser.http.cookies.get(app.smart.cookie_name)
    return app.smart.store.get(digest(cookie)) if cookie else None


def api(app: RunningApp, path: str, *, browser: Browser | None = None, token: str | None = None,
        method: str = "GET", json: dict | None = None) -> requests.Response:
    """A call to the app's API as the UI makes it (the browser's cookie) or as a machine does (a bearer token)."""
    http = browser.http if browser else requests.Session()
    headers = {"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    return http.request(method, f"{app.url}{path}", headers=headers, json=json, timeout=20)
