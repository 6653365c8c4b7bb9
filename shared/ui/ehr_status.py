"""The web side of the EHR status every service shows: the settings (checked at start-up), who sees what of the
clinic's "not in the EHR" list, and its page.

The list is user-level: it spans patients. Each row names a record and its status; the record's patient and the
EHR's reasons (which may name clinical details) are shown only where the caller may read that patient's record:
the patient in context for a session opened from a patient's chart, anyone a user-level scope covers for a launch
without a patient. So a clinician launched for patient A learns that some record of another patient is not in the
EHR (kind, id, time, status) and nothing clinical about it; opening it needs that patient's chart."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, g, render_template, request

from shared.clinic_time import current_clinic_zone, format_clinic_time
from shared.config import app_settings, install_app_settings, load_settings
from shared.db import utcnow
from shared.ehr_delivery.model import Delivery, EhrStatusSettings
from shared.ehr_delivery.views import outstanding_json
from shared.smart import SmartAuthError, current_context
from shared.smart.scopes import Decision, decide

EHR_STATUS_SETTINGS = "ketalink.ehr_status"  # app.extensions key of EhrStatusSettings
PREFIX = "KETALINK_EHR_"
RESOURCE = "MessageHeader"  # what the list reads: the service's FHIR messages to the EHR, by id
LIST_PAGE_PATH = "/ui/not-in-ehr"
LIST_API_PATH = "/ehr-status/not-in-ehr"


def install_ehr_status(app: Flask, settings: EhrStatusSettings | None = None) -> EhrStatusSettings:
    """Load ``KETALINK_EHR_*`` when the app is built (a bad value stops the process naming it)."""
    return install_app_settings(app, EhrStatusSettings, PREFIX, EHR_STATUS_SETTINGS, settings)


def ehr_status_settings() -> EhrStatusSettings:
    return app_settings(EHR_STATUS_SETTINGS, lambda: load_settings(EhrStatusSettings, PREFIX))


def row_visibility(resource_types: Mapping[str, str]) -> Callable[[Delivery], bool]:
    """Which rows the caller sees in full (``resource_types``: the FHIR type each record kind is read as). 401
    without credentials; everything where SMART is off (a local run)."""
    context = current_context()
    if context is None:
        if g.get("smart_auth_required", True):
            raise SmartAuthError(401, "Open Ketalink from the EHR to see what is not in the EHR.",
                                 oauth_error="invalid_request", page="launch-required", title="Launch from the EHR")
        return lambda _delivery: True

    def full(delivery: Delivery) -> bool:
        if context.patient and delivery.patient_id != context.patient:
            return False
        return decide(context.scopes, resource_types.get(delivery.record_kind, "Provenance"), "r",
                      context_patient=context.patient, record_patient=delivery.patient_id) is Decision.ALLOWED

    return full


def outstanding_view(deliveries: list[Delivery], resource_types: Mapping[str, str],
                     link: Callable[[Delivery], str | None]) -> dict[str, Any]:
    """The service's part of the clinic's list (JSON and page model), as the caller may see it: ``resource_types``
    the FHIR type each record kind is read as, ``link`` the page of a row's record."""
    settings = ehr_status_settings()
    return outstanding_json(deliveries, row_visibility(resource_types), link, utcnow(), settings.answer_wait_s)


def render_not_in_ehr(view: dict[str, Any], service_title: str, clinician: str | None) -> Response:
    """The page of the list: this service's rows, and links to the other services' lists (each keeps its own; this
    service's own URL, when the setting names every service, is skipped)."""
    own = urlsplit(request.host_url).netloc.lower()
    peers = [f"{url.rstrip('/')}{LIST_PAGE_PATH}" for url in ehr_status_settings().status_peers
             if urlsplit(url).netloc.lower() != own]
    zone = current_clinic_zone()
    html = render_template("ui/not_in_ehr.html", view=view, service_title=service_title, peers=peers,
                           local_time=lambda iso: format_clinic_time(datetime.fromisoformat(iso), zone),
                           clinician=clinician)
    return Response(html, mimetype="text/html", headers={"Cache-Control": "no-store"})
