"""A real browser session in a service of the security stack: the launch from the sandbox's chart, sign-in,
approval and the code exchange, as a clinician's browser goes through them. The sandbox registered each service's
``redirect_uri`` on its default port; the stack's services say that URL (``SMART_PUBLIC_BASE_URL``) while they
listen on a free port, so the two redirects that would go to the registered port are taken to the real one."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from tests.integration.smart.support import Browser
from tests.security.smart_tokens import EhrAuthorization


def _to(base_url: str, location: str) -> str:
    """``location`` (on the registered host and port) on ``base_url``'s host and port instead."""
    target = urlsplit(base_url)
    return urlunsplit(urlsplit(location)._replace(scheme=target.scheme, netloc=target.netloc))


def launched_session(smart: EhrAuthorization, service: str, service_url: str, patient_id: str,
                     user: str = "dr.okoye") -> Browser:
    """A browser holding ``service``'s session cookie after an EHR launch from ``patient_id``'s chart by ``user``."""
    browser = Browser()
    client_id = smart.apps[service].client_id
    chart_url = smart.fhir_base_url.rsplit("/fhir", 1)[0] + "/chart"
    to_app = browser.submit(browser.get(chart_url), where={"patient": patient_id, "app": client_id},
                            allow_redirects=False)
    assert to_app.status_code in (302, 303), to_app.text
    page = browser.get(_to(service_url, to_app.headers["Location"]))  # the service's /launch → the EHR
    if "/smart/login" in page.url:
        page = browser.submit(page, values={"username": user, "password": smart.demo_password})
    assert page.status_code == 200 and "Approve" in page.text, f"no approval page: {page.status_code}"
    approved = browser.submit(page, button="approve", allow_redirects=False)
    assert approved.status_code == 302, approved.text
    landing = browser.get(_to(service_url, approved.headers["Location"]), allow_redirects=False)  # /callback
    assert landing.status_code in (302, 303) and browser.http.cookies, landing.text
    return browser
