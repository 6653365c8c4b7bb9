"""The decision screen (``GET /ui/intakes/<id>/decision``): the outcome with every reason and the EHR's answer, and
"Reopen"; deciding (``POST .../decision``, prescribers only, with the attestation) lands here."""
from __future__ import annotations

from datetime import datetime

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from services.intake.access import ELIGIBILITY, intake_patient, intake_service
from services.intake.commands import DecideEligibility, ReopenIntake
from services.intake.domain.errors import IntakeInputError
from services.intake.handlers import IntakeService, IntakeView
from services.intake.presenters import EFFECT_LABELS, ehr_status_view
from services.intake.ui.forms import Form
from services.intake.ui.intake_page import post_form, render_intake
from services.intake.ui.pages import blueprint, own_intake, page_basics
from shared.people import Person
from shared.roles import ATTESTATIONS, require_prescriber
from shared.smart import requires
from shared.ui import launch_context


@blueprint.get("/ui/intakes/<intake_id>/decision")
@requires(ELIGIBILITY, "r", patient=intake_patient)
def decision_page(intake_id: str) -> ResponseReturnValue:
    service = intake_service()
    view = own_intake(service, intake_id)
    if view.intake.decision is None:
        return redirect(url_for("intake_ui.intake_page", intake_id=intake_id, _anchor="decide"), code=303)
    return render_decision(service, view)


@blueprint.post("/ui/intakes/<intake_id>/decision")
@requires(ELIGIBILITY, "cu", patient=intake_patient)
def decide(intake_id: str) -> ResponseReturnValue:
    """Only a prescriber decides (403 page otherwise), ticking the attestation, which the decision keeps."""
    require_prescriber(launch_context(), "decide eligibility")

    def record(service: IntakeService, i: str, form: Form, by: Person, _now: datetime) -> IntakeView:
        if form.get("decision.attested") != "yes":
            raise IntakeInputError("decision.attested", "tick the attestation to decide")
        return service.decide(DecideEligibility(i, by, attestation=ATTESTATIONS["decide-eligibility"]))

    return post_form(intake_id, "decision", record,
                     then=lambda view: url_for("intake_ui.decision_page", intake_id=view.intake.intake_id))


@blueprint.post("/ui/intakes/<intake_id>/reopen")
@requires(ELIGIBILITY, "u", patient=intake_patient)
def reopen(intake_id: str) -> ResponseReturnValue:
    def record(service: IntakeService, intake_id: str, form: Form, by: Person, _now: datetime) -> IntakeView:
        reason = (form.get("reopen.reason") or "").strip()
        if not reason:
            raise IntakeInputError("reopen.reason", "say why the decision is set aside")
        return service.reopen(ReopenIntake(intake_id, by, reason))

    return post_form(intake_id, "reopen", record, on_refusal=render_decision,
                     then=lambda view: url_for("intake_ui.intake_page", intake_id=intake_id, saved="reopen"))


def render_decision(service: IntakeService, view: IntakeView, *, failed_part: str | None = None,
                    errors: list[tuple[str, str]] | None = None, status: int = 200) -> tuple[str, int]:
    if view.intake.decision is None:  # reopened meanwhile: the intake page says what there is
        return render_intake(service, view, errors=[("", m) for _f, m in errors or []], status=status)
    values = {k: v for k, v in request.form.items() if k.startswith("reopen.")} if failed_part else {}
    return render_template(
        "intake/decision.html", **page_basics(service, launch_context(), errors or [], status), view=view,
        intake=view.intake, decision=view.intake.decision, effect_labels=EFFECT_LABELS, values=values,
        ehr_status=ehr_status_view(view)), status
