"""The home screen: the patient in context (banner with the eligibility of the latest decision), their intakes, and
"Start intake" (``POST /ui/intakes``: an intake for that patient, pre-filled from the EHR)."""
from __future__ import annotations

from flask import redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from services.intake.access import INTAKE_RECORD, intake_service
from services.intake.commands import StartIntake
from services.intake.ehr_reads import EhrDataError, EhrNotFound, EhrRefused, EhrUnavailable
from services.intake.handlers import IntakeService
from services.intake.ui.pages import blueprint, page_basics, recorded_by
from shared.smart import requires
from shared.ui import in_launch_context, launch_context


@blueprint.get("/")
@requires(INTAKE_RECORD, "s", patient=in_launch_context)
def home() -> ResponseReturnValue:
    return render_home(intake_service())


@blueprint.post("/ui/intakes")
@requires(INTAKE_RECORD, "c", patient=in_launch_context)
def start_intake() -> ResponseReturnValue:
    service = intake_service()
    context = launch_context()
    if not context.patient:
        return render_home(service)
    try:
        view, _created = service.start(StartIntake(context.patient, recorded_by(context)))
    except (EhrNotFound, EhrDataError) as error:
        return render_home(service, errors=[("", f"The EHR record cannot start an intake: {error}")], status=422)
    except (EhrUnavailable, EhrRefused):
        return render_home(service, errors=[("", "The EHR is not answering; nothing was started. Try again shortly.")],
                           status=503)
    return redirect(url_for("intake_ui.intake_page", intake_id=view.intake.intake_id), code=303)


def render_home(service: IntakeService, errors: list[tuple[str, str]] | None = None, status: int = 200
                ) -> tuple[str, int]:
    context = launch_context()
    intakes = list(reversed(service.for_patient(context.patient))) if context.patient else []
    basics = page_basics(service, context, errors or [], status) | {"error_heading": "The intake was not started"}
    ehr = service.ehr_statuses([i.intake_id for i in intakes])
    return render_template("intake/home.html", **basics, intakes=intakes, has_patient=bool(context.patient),
                           values={}, ehr=ehr), status
