"""The CDS Hooks endpoints on the orders app: discovery, the two hook services and their feedback, with CORS for
the EHR's browser origins (CDS Hooks 2.0: a CDS client may call from the browser). The SMART session check does not
apply to them (``PUBLIC_ENDPOINTS``): every hook call carries the EHR's JWT instead (``auth.py``). Discovery holds
no patient data and is open, so an EHR can read it before it has been configured with keys."""
from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from prometheus_client import Counter

from shared.api import OPENAPI_DOCUMENT
from shared.web import ApiError, json_object, outcome_response
from services.orders.cds_hooks.auth import CdsAuthError
from services.orders.cds_hooks.discovery import HOOK_OF_SERVICE, discovery_document
from services.orders.cds_hooks.openapi import add_to_document
from services.orders.cds_hooks.service import CdsHooksService

SERVICE_KEY = "ketalink.cds_hooks"
blueprint = Blueprint("cds_hooks", __name__)
PUBLIC_ENDPOINTS = ("cds_hooks.discovery", "cds_hooks.hook", "cds_hooks.feedback")
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type"
CORS_MAX_AGE_S = "600"


def _service() -> CdsHooksService:
    service: CdsHooksService = current_app.extensions[SERVICE_KEY]
    return service


def _base_url() -> str:
    """This service's URL as the EHR calls it: ``PUBLIC_BASE_URL`` (required outside local runs, and the Host is
    checked against it at the edge), else the request's own."""
    base: str = current_app.extensions[f"{SERVICE_KEY}.base_url"] or request.host_url
    return base.rstrip("/")


def _service_id(service_id: str) -> str:
    if service_id not in HOOK_OF_SERVICE:
        raise ApiError(404, f"no CDS service {service_id[:64]!r}: see /cds-services", code="not-found")
    return service_id


@blueprint.route("/cds-services", methods=["GET"], endpoint="discovery")
def discovery() -> ResponseReturnValue:
    return jsonify(discovery_document())


@blueprint.route("/cds-services/<service_id>", methods=["POST"], endpoint="hook")
def hook(service_id: str) -> ResponseReturnValue:
    service = _service()
    service_id = _service_id(service_id)
    caller = service.authenticate(request.headers.get("Authorization"), _base_url() + request.path)
    return jsonify(service.answer_hook(service_id, caller, json_object(), _base_url() + "/launch"))


@blueprint.route("/cds-services/<service_id>/feedback", methods=["POST"], endpoint="feedback")
def feedback(service_id: str) -> ResponseReturnValue:
    service = _service()
    service_id = _service_id(service_id)
    caller = service.authenticate(request.headers.get("Authorization"), _base_url() + request.path)
    stored = service.record_feedback(service_id, caller, json_object())
    return jsonify({"stored": stored}), 200


#: Refused hook and feedback calls by reason class (no token, iss or patient in a label): a rise in ``wrong-audience``
#: or ``expired`` after a change at the EHR or the proxy shows at once on the dashboard.
CDS_AUTH_REFUSALS = Counter("ketalink_cds_auth_refusals_total", "CDS Hooks calls refused with 401, by reason",
                            ["reason"])


def _refused(error: CdsAuthError) -> Response:
    """401 naming the reason class; never the token."""
    CDS_AUTH_REFUSALS.labels(error.reason).inc()
    response, _ = outcome_response(401, [("Authorization", f"{error.reason}: {error.detail}")], "login")
    response.status_code = 401
    response.headers["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{error.reason}"'
    return response


def _cors(response: Response) -> Response:
    """Allow the configured EHR origins (never ``*``: the answers carry patient-specific cards)."""
    if not request.path.startswith("/cds-services"):
        return response
    origin = request.headers.get("Origin")
    allowed = _service().settings.allowed_origins
    if origin and origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE_S
    response.vary.add("Origin")
    return response


def install_cds_hooks(app: Flask, service: CdsHooksService, public_base_url: str) -> None:
    """After ``Api.install``: the endpoints join the service's OpenAPI document (``openapi.py``)."""
    app.extensions[SERVICE_KEY] = service
    app.extensions[f"{SERVICE_KEY}.base_url"] = public_base_url
    app.register_blueprint(blueprint)
    app.register_error_handler(CdsAuthError, _refused)
    app.after_request(_cors)
    if OPENAPI_DOCUMENT in app.extensions:
        add_to_document(app.extensions[OPENAPI_DOCUMENT])
