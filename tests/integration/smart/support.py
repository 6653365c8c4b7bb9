"""A small Flask app built with ``shared.smart`` (as a service would be), served by werkzeug in a thread, and a
``requests``-driven "browser" that follows redirects and submits the HTML forms of the EHR sandbox and the app."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from flask import Flask
from werkzeug.serving import make_server

from shared.api import Api, RequestModel
from shared.db import create_database
from shared.fhir.client import FhirClient
from shared.smart import SmartAuth, SmartSettings, current_context, from_body, from_path, require, requires
from shared.web import install as install_web

HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


class OrderBody(RequestModel):
    patient_id: str
    dose_mg: float


def create_test_app(database_path: Path, settings: SmartSettings, client_id: str, issuer: str) -> tuple[Flask,
                                                                                                         SmartAuth]:
    """The shape of a Ketalink service: ``Api`` operations with ``@requires``, ``shared.web`` glue, SMART."""
    engine = create_database(f"sqlite:///{database_path}")
    app = Flask(f"smart-test-{client_id}")
    api = Api("SMART test app", "1.0.0", "Exercises shared.smart", engine)

    @api.operation("/patients/<patient_id>/observations", "GET", summary="Observations of a patient")
    @requires("Observation", "rs", patient=from_path("patient_id"))
    def observations(patient_id: str):  # type: ignore[no-untyped-def]
        context = current_context()
        return {"patient_id": patient_id, "source": context.source if context else None}

    @api.operation("/observations", "GET", summary="Observations of every patient (names no patient)")
    @requires("Observation", "s")
    def every_patients_observations():  # type: ignore[no-untyped-def]
        return {"observations": []}

    @api.operation("/orders", "POST", summary="Create an order", body=OrderBody, success_status=201)
    @requires("MedicationRequest", "c", patient=from_body("patient_id"))
    def create_order(body: OrderBody):  # type: ignore[no-untyped-def]
        return {"patient_id": body.patient_id, "dose_mg": body.dose_mg}, 201

    @api.operation("/notes/<note_id>/sign", "POST", summary="Sign a note (patient looked up in the view)")
    def sign_note(note_id: str):  # type: ignore[no-untyped-def]
        require("DocumentReference", "u", patient_id=note_id.split("-", 1)[0])  # note ids are "<patient>-<n>"
        return {"note_id": note_id, "signed": True}

    @api.operation("/ehr/patient", "GET", summary="Read the patient in context from the EHR with the user's token")
    def ehr_patient():  # type: ignore[no-untyped-def]
        in_context = current_context()
        context = require("Patient", "r", patient_id=in_context.patient if in_context else None)
        assert context is not None
        fhir = FhirClient(context.iss, headers={"Authorization": f"Bearer {context.access_token}"})
        return {"id": fhir.read("Patient", context.patient or "")["id"]}

    @app.get("/ui")
    def ui():  # type: ignore[no-untyped-def]
        context = current_context()
        return f"<html><body data-patient='{context.patient if context else ''}'>UI</body></html>"

    api.install(app)
    install_web(app, {})
    smart = SmartAuth(app, engine, settings, client_id=client_id, allowed_issuers=(issuer,))
    return app, smart


@dataclass
class RunningApp:
    url: str
    client_id: str
    app: Flask
    smart: SmartAuth
    server: Any = field(repr=False)

    def stop(self) -> None:
        self.server.shutdown()


def serve(app: Flask, smart: SmartAuth, port: int, client_id: str) -> RunningApp:
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, name=f"smart-app-{client_id}", daemon=True).start()
    return RunningApp(f"http://127.0.0.1:{port}", client_id, app, smart, server)


# -- the "browser" -------------------------------------------------------------------------------------------------
@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str]
    buttons: list[tuple[str, str, dict[str, str]]]  # (name, value, attributes)
    selects: dict[str, list[str]]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(attributes.get("action", ""), attributes.get("method", "get").lower(), {}, [], {}))
        elif not self.forms:
            return
        elif tag == "input" and attributes.get("type") != "submit":
            self.forms[-1].fields[attributes.get("name", "")] = attributes.get("value", "")
        elif tag == "button":
            self.forms[-1].buttons.append((attributes.get("name", ""), attributes.get("value", ""), attributes))
        elif tag == "select":
            self._select = attributes.get("name", "")
            self.forms[-1].selects[self._select] = []
        elif tag == "option" and self._select is not None:
            self.forms[-1].selects[self._select].append(attributes.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


class Browser:
    """Cookies, redirects and forms, as a browser would; ``Accept`` prefers HTML as a browser's does."""

    def __init__(self) -> None:
        self.http = requests.Session()
        self.http.headers["Accept"] = HTML
        self.visited: list[requests.Response] = []  # every response, redirects included
        self.http.hooks["response"].append(lambda response, *args, **kwargs: self.visited.append(response))

    def visited_at(self, url_prefix: str) -> requests.Response:
        """The last response from a URL starting with ``url_prefix``."""
        return next(r for r in reversed(self.visited) if r.url.startswith(url_prefix))

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.http.get(url, timeout=20, **kwargs)

    def submit(self, page: requests.Response, *, where: dict[str, str] | None = None, button: str | None = None,
               values: dict[str, str] | None = None, allow_redirects: bool = True) -> requests.Response:
        """Submit the form of ``page`` whose hidden fields include ``where`` (the first one by default), pressing
        the button with value ``button`` (or none), with ``values`` typed in."""
        candidates = [f for f in forms(page.text) if all(f.fields.get(k) == v for k, v in (where or {}).items())]
        assert candidates, f"no form matching {where} on {page.url}"
        form = candidates[0]
        data = dict(form.fields)
        for name, options in form.selects.items():
            if options:
                data[name] = options[0]
        if button is not None:
            name, value, _ = next(b for b in form.buttons if b[1] == button)
            data[name] = value
        data.update(values or {})
        action = urljoin(page.url, form.action or page.url)
        if form.method == "post":
            return self.http.post(action, data=data, timeout=20, allow_redirects=allow_redirects)
        return self.http.get(action, params=data, timeout=20, allow_redirects=allow_redirects)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
