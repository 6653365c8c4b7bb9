"""Each service's operations page (``/ops``): its dead letters, held records, outbox backlog and the last audited
actions, with replay, discard and release behind a required reason. Ids, codes and reasons only, never a payload.

Only for operations staff: a role the EHR gives the signed-in user (``KETALINK_OPS_ROLE_CODES``) or a token scope
the clinic names (``KETALINK_OPS_SCOPES``), checked like the prescriber's (``shared/roles.py``); everyone else gets
403. Every post carries the pages' form guard (``shared/ui/forms.py``). The actor of an action is the signed-in
person's ``fhirUser`` reference (``shared.roles.acting_person``)."""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Flask, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from kafka.errors import KafkaError

from shared.config import SettingsError, app_settings, install_app_settings, load_settings
from shared.db import utcnow
from shared.events.kafka_clients import KafkaSettings
from shared.ops import held as held_ops
from shared.ops.actions import OpsService
from shared.ops.audit import OpsConflict, OpsUsageError
from shared.ops.dead_letters import DeadLetterRef
from shared.ops.settings import OpsAccessSettings
from shared.roles import acting_person, missing_scope_and_role
from shared.runtime import ServiceRuntime
from shared.smart import SmartAuthError, current_context, guarded_by, requires
from shared.smart.access import SmartContext
from shared.ui import clinician_name, guard_form_posts

OPS_SERVICE = "ketalink.ops"  # app.extensions: this service's OpsService
OPS_ACCESS = "ketalink.ops.access"  # app.extensions: OpsAccessSettings
OPS_NO_KAFKA_USER = "ketalink.ops.no-kafka-user"  # app.extensions: why dead letters are not on the page, or ""
RESOURCE = "MessageHeader"  # what the page reads and acts on: the service's FHIR messages, by id
NOTICES = {"replayed": "Replayed into the source topic; audited.", "discarded": "Discarded; audited.",
           "released": "Released: the worker retries it now, in its key's order; audited."}

blueprint = Blueprint("ops", __name__, template_folder="templates", url_prefix="/ops")
guard_form_posts(blueprint)


def install_ops(app: Flask, runtime: ServiceRuntime, settings: OpsAccessSettings | None = None) -> None:
    """Register the page; ``KETALINK_OPS_*`` is validated now (a bad value stops the process naming it)."""
    install_app_settings(app, OpsAccessSettings, "KETALINK_OPS_", OPS_ACCESS, settings)
    consumer = runtime.settings.consumer_group or f"ketalink-{runtime.name}"
    app.extensions[OPS_SERVICE] = OpsService(runtime.name, runtime.engine, runtime.kafka, consumer)
    app.extensions[OPS_NO_KAFKA_USER] = no_kafka_user(runtime.name, runtime.kafka)
    app.register_blueprint(blueprint)


def no_kafka_user(service: str, kafka: KafkaSettings) -> str:
    """Why the page cannot read dead letters, when the web process holds no Kafka user for a SASL listener (the
    deployment's default: its web pods get one only where the site turns the page's dead-letter access on), so the
    page says so at once instead of waiting on a broker it may not reach; "" when it has one."""
    try:
        kafka.require_credentials()
    except SettingsError:
        return ("Dead letters are not shown here: this web process holds no Kafka user (the deployment leaves the "
                f"page's dead-letter access off). Use the operations CLI: python -m shared.ops {service} "
                "dead-letters list.")
    return ""


def ops_staff(context: SmartContext | None) -> None:
    """``@guarded_by``: 403 unless the token carries an ops scope or the EHR gives the user an ops role. No context
    only where SMART is off (local runs): nobody to check."""
    if context is None:
        return
    settings = app_settings(OPS_ACCESS, lambda: load_settings(OpsAccessSettings, "KETALINK_OPS_"))
    roles = missing_scope_and_role(context, settings.scopes, settings.role_codes)
    if roles is None:
        return
    raise SmartAuthError(403, "The operations page is for the clinic's operations staff: it needs a role the clinic "
                              "names for it (KETALINK_OPS_ROLE_CODES) or a token scope granted for it "
                              f"(KETALINK_OPS_SCOPES). The EHR gives you: {roles.describe()}.",
                         oauth_error="insufficient_scope", title="Operations role needed", page="not-ops")


@blueprint.get("")
@requires(RESOURCE, "r", touches_no_patient=True)
@guarded_by(ops_staff)
def ops_page() -> ResponseReturnValue:
    return _render(notice=NOTICES.get(request.args.get("done", "")))


@blueprint.post("/dead-letters/replay")
@requires(RESOURCE, "u", touches_no_patient=True)
@guarded_by(ops_staff)
def replay_dead_letters() -> ResponseReturnValue:
    def act(ops: OpsService, actor: str) -> None:
        refs = None if request.form.get("all") == "yes" else [DeadLetterRef.parse(request.form.get("ref", ""))]
        ops.replay(refs, request.form.get("reason", ""), actor, apply=True)
    return _act(act, "replayed", kafka=True)


@blueprint.post("/dead-letters/discard")
@requires(RESOURCE, "u", touches_no_patient=True)
@guarded_by(ops_staff)
def discard_dead_letter() -> ResponseReturnValue:
    return _act(lambda ops, actor: ops.discard(DeadLetterRef.parse(request.form.get("ref", "")),
                                               request.form.get("reason", ""), actor), "discarded", kafka=True)


@blueprint.post("/held/<int:held_id>/<any(release, discard):action>")
@requires(RESOURCE, "u", touches_no_patient=True)
@guarded_by(ops_staff)
def act_on_held(held_id: int, action: str) -> ResponseReturnValue:
    return _act(lambda ops, actor: held_ops.act(ops.engine, ops.service, ops.consumer_name, held_id, action,
                                                request.form.get("reason", ""), actor),
                "released" if action == "release" else "discarded")


def _ops() -> OpsService:
    service = current_app.extensions[OPS_SERVICE]
    assert isinstance(service, OpsService)
    return service


def _actor() -> str:
    context = current_context()
    if context is None:
        return "local-run:smart-off"  # SMART_AUTH_REQUIRED=false, allowed in local runs only: nobody signed in
    person = acting_person(context)
    return person.reference or person.display


def _act(action: Callable[[OpsService, str], object], done: str, kafka: bool = False) -> ResponseReturnValue:
    no_user = current_app.extensions.get(OPS_NO_KAFKA_USER, "")
    if kafka and no_user:
        return _render(errors=[("", f"{no_user} Nothing was changed.")], status=503)
    try:
        action(_ops(), _actor())
    except (OpsUsageError, held_ops.HeldRecordsUnavailable) as error:
        status = 409 if isinstance(error, OpsConflict) else 400
        return _render(errors=[("reason" if "reason" in str(error) else "", str(error))], status=status)
    except (KafkaError, TimeoutError) as error:
        return _render(errors=[("", f"The broker did not answer ({type(error).__name__}); nothing was replayed. "
                                    "Try again shortly.")], status=503)
    return redirect(url_for("ops.ops_page", done=done), code=303)


def _render(errors: list[tuple[str, str]] | None = None, notice: str | None = None,
            status: int = 200) -> tuple[str, int]:
    ops = _ops()
    include_settled = request.args.get("settled") == "yes"
    dead_letters, dead_letter_problem = [], current_app.extensions.get(OPS_NO_KAFKA_USER, "")
    try:
        if not dead_letter_problem:
            dead_letters = ops.dead_letters(include_settled=include_settled, limit=200)
    except (KafkaError, TimeoutError) as error:
        dead_letter_problem = f"The dead-letter topics could not be read: {type(error).__name__}."
    held, held_problem = [], ""
    try:
        held = held_ops.list_held(ops.engine, ops.consumer_name)
    except held_ops.HeldRecordsUnavailable as error:
        held_problem = str(error)
    context = current_context()
    backlog = ops.outbox()
    return render_template(
        "ops/page.html", errors=errors or [], notice=notice, error_heading="Nothing was changed",
        clinician=clinician_name(context) if context else None, service=ops.service, consumer=ops.consumer_name,
        dead_letters=dead_letters, dead_letter_problem=dead_letter_problem, include_settled=include_settled,
        held=held, held_problem=held_problem, backlog=backlog, backlog_age_s=backlog.oldest_age_s(utcnow()),
        actions=ops.recent_actions(),
        field_labels={"reason": "Reason"}), status
