"""The intake screen (``GET /ui/intakes/<id>?step=<part>``): one form per part shown as steps (``steps``), what is
still missing, overrides, "decide".

Each part's form posts to ``/ui/intakes/<id>/<part>`` (trials, contraindications, vitals, phq9, madrs, cssrs,
consent, overrides, cssrs_review, urgent_use). ``post_form`` is the cycle every form post follows (the decision
screen's too): record through the service layer, then redirect; a refused form is shown again as typed, with the
domain's message next to the field and in the error summary; nothing is saved.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from services.intake.access import ELIGIBILITY, INTAKE_RECORD, PART_RESOURCE_TYPES, intake_patient, intake_service
from services.intake.commands import (
    RecordConsent,
    RecordContraindications,
    RecordCssrs,
    RecordCssrsReview,
    RecordMadrs,
    RecordOverride,
    RecordPhq9,
    RecordTrials,
    RecordUrgentUse,
    RecordVitals,
)
from services.intake.domain.consent import consent_element_label
from services.intake.domain.cssrs import CssrsRisk
from services.intake.domain.errors import IntakeInputError, IntakeStateError
from services.intake.domain.progress import missing_items
from services.intake.domain.reviews import ReviewOutcome
from services.intake.domain.scales import MADRS_ITEM_MAX, PHQ9_ITEM_MAX
from services.intake.handlers import IntakeService, IntakeView
from services.intake.presenters import (
    EFFECT_LABELS,
    ehr_status_view,
    contraindication_rows,
    cssrs_rows,
    override_items,
    plausible_ranges,
    saved_notice,
)
from services.intake.translators.codes import MADRS_ITEMS, PHQ9_ITEMS
from services.intake.ui.forms import (
    FIELD_PREFIXES,
    NOT_ASKED,
    VITAL_MEASURES,
    Form,
    consent_element_field,
    consent_from_form,
    cssrs_from_form,
    override_field,
    override_from_form,
    scale_item_count,
    scale_items_from_form,
    screen_from_form,
    stored_values,
    trial_rows,
    trials_from_form,
    vitals_from_form,
)
from services.intake.ui.pages import blueprint, own_intake, page_basics, recorded_by
from services.intake.ui.steps import DECIDE, Step, current_step, intake_steps, neighbours, step_after_save
from shared.people import Person
from shared.db import StaleRecordError
from shared.errors import FieldInputError
from shared.roles import require_prescriber
from shared.smart import requires
from shared.ui import launch_context

# Records one part from its posted form: (service, intake id, form, who records, now) -> the intake as saved.
PartRecorder = Callable[[IntakeService, str, Form, str, datetime], IntakeView]


@blueprint.get("/ui/intakes/<intake_id>")
@requires(INTAKE_RECORD, "r", patient=intake_patient)
def intake_page(intake_id: str) -> ResponseReturnValue:
    service = intake_service()
    view = own_intake(service, intake_id)
    saved = request.args.get("saved", "")
    return render_intake(service, view, notice=saved_notice(saved, view.intake) if saved else None)


# --- the part recorders: form → command → service layer, domain errors named by the form's field ------------------
def _record_trials(service: IntakeService, intake_id: str, form: Form, _by: Person, _now: datetime) -> IntakeView:
    parsed = trials_from_form(form)
    try:
        return service.record_trials(RecordTrials(intake_id, parsed.trials))
    except FieldInputError as error:
        raise IntakeInputError(parsed.form_field(error.field), error.message) from None


def _record_contraindications(service: IntakeService, intake_id: str, form: Form, by: Person,
                              now: datetime) -> IntakeView:
    parsed = screen_from_form(form, service.settings)
    try:
        return service.record_contraindications(RecordContraindications(intake_id, parsed.answers, by, now))
    except FieldInputError as error:
        raise IntakeInputError(parsed.form_field(error.field), error.message) from None


def _record_vitals(service: IntakeService, intake_id: str, form: Form, _by: Person, now: datetime) -> IntakeView:
    return service.record_vitals(RecordVitals(intake_id, vitals_from_form(form, now)))


def _record_phq9(service: IntakeService, intake_id: str, form: Form, _by: Person, now: datetime) -> IntakeView:
    items = scale_items_from_form(form, "phq9", scale_item_count("phq9"))
    return service.record_phq9(RecordPhq9(intake_id, items, now))


def _record_madrs(service: IntakeService, intake_id: str, form: Form, by: Person, now: datetime) -> IntakeView:
    items = scale_items_from_form(form, "madrs", scale_item_count("madrs"))
    return service.record_madrs(RecordMadrs(intake_id, items, now, by))


def _record_cssrs(service: IntakeService, intake_id: str, form: Form, _by: Person, now: datetime) -> IntakeView:
    return service.record_cssrs(RecordCssrs(intake_id, cssrs_from_form(form), now))


def _record_consent(service: IntakeService, intake_id: str, form: Form, _by: Person, now: datetime) -> IntakeView:
    return service.record_consent(RecordConsent(intake_id, consent_from_form(form, now, service.settings)))


def _record_cssrs_review(service: IntakeService, intake_id: str, form: Form, by: Person, _now: datetime) -> IntakeView:
    """The behavioural-health review, by the signed-in clinician (``by``)."""
    outcome = (form.get("cssrs_review.outcome") or "").strip()
    if outcome not in {o.value for o in ReviewOutcome}:
        raise IntakeInputError("cssrs_review.outcome", "choose proceed or do not proceed")
    return service.record_cssrs_review(RecordCssrsReview(intake_id, outcome,
                                                         (form.get("cssrs_review.note") or "").strip(), by))


def _record_urgent_use(service: IntakeService, intake_id: str, form: Form, by: Person, _now: datetime) -> IntakeView:
    """A prescriber's urgent-use override: the role is checked here, from the EHR (shared/roles.py)."""
    roles = require_prescriber(launch_context(), "set the TRD rule aside for urgent use")
    return service.record_urgent_use(RecordUrgentUse(intake_id, (form.get("urgent_use.reason") or "").strip(), by,
                                                     roles is not None))


# --- one view per part's form (the endpoint ``record_<part>`` the page's forms post to) --------------------------
@blueprint.post("/ui/intakes/<intake_id>/trials")
@requires(PART_RESOURCE_TYPES["trials"], "u", patient=intake_patient)
def record_trials(intake_id: str) -> ResponseReturnValue:
    return post_form(intake_id, "trials", _record_trials)


@blueprint.post("/ui/intakes/<intake_id>/contraindications")
@requires(PART_RESOURCE_TYPES["contraindications"], "u", patient=intake_patient)
def record_contraindications(intake_id: str) -> ResponseReturnValue:
    return post_form(intake_id, "contraindications", _record_contraindications)


@blueprint.post("/ui/intakes/<intake_id>/vitals")
@requires(PART_RESOURCE_TYPES["vitals"], "u", patient=intake_patient)
def record_vitals(intake_id: str) -> ResponseReturnValue:
    return post_form(intake_id, "vitals", _record_vitals)


@blueprint.post("/ui/intakes/<intake_id>/phq9")
@requires(PART_RESOURCE_TYPES["phq9"], "u", patient=intake_patient)
def record_phq9(intake_id: str) -> ResponseReturnValue:
    return post_form(intake_id, "phq9", _record_phq9)


@blueprint.post("/ui/intakes/<intake_id>/madrs")
@requires(PART_RESOURCE_TYPES["madrs"], "u", patient=intake_patient)
def record_madrs(intake_id: str) -> ResponseReturnValue:
    return post_form(intake_id, "madrs", _record_madrs)


@blueprint.post("/ui/intakes/<intake_id>/cssrs")
@requires(PART_RESOURCE_TYPES["cssrs"], "u", patient=intake_patient)
def record_cssrs(intake_id: str) -> ResponseReturnValue:
    return post_form(intake_id, "cssrs", _record_cssrs)


@blueprint.post("/ui/intakes/<intake_id>/consent")
@requires(PART_RESOURCE_TYPES["consent"], "u", patient=intake_patient)
def record_consent(intake_id: str) -> ResponseReturnValue:
    return post_form(intake_id, "consent", _record_consent)


@blueprint.post("/ui/intakes/<intake_id>/overrides")
@requires(ELIGIBILITY, "u", patient=intake_patient)
def record_override(intake_id: str) -> ResponseReturnValue:
    target, key = request.form.get("override.target", ""), request.form.get("override.key", "")

    def record(service: IntakeService, intake_id: str, form: Form, by: Person, now: datetime) -> IntakeView:
        try:
            return service.record_override(RecordOverride(intake_id, override_from_form(form, by, now)))
        except FieldInputError as error:
            raise IntakeInputError(override_field(target, key), error.message) from None

    return post_form(intake_id, "overrides", record)


@blueprint.post("/ui/intakes/<intake_id>/cssrs_review")
@requires(ELIGIBILITY, "u", patient=intake_patient)
def record_cssrs_review(intake_id: str) -> ResponseReturnValue:
    return post_form(intake_id, "cssrs_review", _record_cssrs_review)


@blueprint.post("/ui/intakes/<intake_id>/urgent_use")
@requires(ELIGIBILITY, "u", patient=intake_patient)
def record_urgent_use(intake_id: str) -> ResponseReturnValue:
    return post_form(intake_id, "urgent_use", _record_urgent_use)


# --- the form-post cycle and the page ------------------------------------------------------------------------------
def post_form(intake_id: str, part: str, record: PartRecorder, then: Callable[[IntakeView], str] | None = None,
              on_refusal: Callable[..., tuple[str, int]] | None = None) -> ResponseReturnValue:
    """Record (the post passed the form guard), then redirect (so a reload never posts again); a refusal shows the
    page again with the form as typed and the reason next to the field (400) or at the top (409)."""
    service = intake_service()
    view = own_intake(service, intake_id)
    context = launch_context()
    refuse = on_refusal or render_intake
    try:
        now = service.clock.now().replace(microsecond=0)  # the time recorded and shown with the part
        changed = record(service, intake_id, request.form, recorded_by(context), now)
    except FieldInputError as error:
        return refuse(service, view, failed_part=part, errors=[(error.field, error.message)], status=400)
    except IntakeStateError as error:
        return refuse(service, view, failed_part=part, errors=[("", error.message)], status=409)
    except StaleRecordError:
        return refuse(service, own_intake(service, intake_id), failed_part=part, status=409, errors=[
            ("", "The intake changed at the same time (another screen?). Check it and save again.")])
    if then:
        return redirect(then(changed), code=303)
    step = step_after_save(_steps(service, changed.intake), part)
    return redirect(url_for("intake_ui.intake_page", intake_id=intake_id, saved=part, step=step, _anchor=step),
                    code=303)


def _steps(service: IntakeService, intake: Any) -> list[Step]:
    settings = service.settings
    return intake_steps(intake, override_items(intake, settings), _review_needed(intake), settings.urgent_use_allowed)


def _review_needed(intake: Any) -> bool:
    return intake.cssrs is not None and intake.cssrs.risk.rank >= CssrsRisk.MODERATE.rank


def render_intake(service: IntakeService, view: IntakeView, *, failed_part: str | None = None,
                  errors: list[tuple[str, str]] | None = None, status: int = 200,
                  notice: str | None = None) -> tuple[str, int]:
    settings = service.settings
    intake = view.intake
    values = stored_values(intake, settings)
    if failed_part in FIELD_PREFIXES:  # show the refused form as it was typed
        prefixes = FIELD_PREFIXES[failed_part]
        values = {k: v for k, v in values.items() if not k.startswith(prefixes)}
        values.update({k: v for k, v in request.form.items() if k.startswith(prefixes)})
    steps = _steps(service, intake)
    requested = {"decision": DECIDE}.get(failed_part or "", failed_part) or request.args.get("step")
    step = current_step(steps, requested)  # a refused part is shown again, as typed, with its errors
    previous_step, next_step = neighbours(steps, step.key)
    page: dict[str, Any] = dict(
        steps=steps, step=step, previous_step=previous_step, next_step=next_step,
        step_number=steps.index(step) + 1, steps_done=sum(1 for s in steps if s.done),
        view=view, intake=intake, values=values, failed_part=failed_part, notice=notice,
        locked=intake.decision is not None, missing=missing_items(intake, settings), trial_rows=trial_rows(values),
        contraindications=contraindication_rows(settings, intake),
        consent_elements=[{"key": key, "label": consent_element_label(key), "field": consent_element_field(key)}
                          for key in settings.consent_elements],
        review_needed=_review_needed(intake),
        urgent_use_allowed=settings.urgent_use_allowed,
        vital_measures=VITAL_MEASURES, ranges=plausible_ranges(settings),
        phq9_items=[code.display for code in PHQ9_ITEMS], madrs_items=[code.display for code in MADRS_ITEMS],
        phq9_max=PHQ9_ITEM_MAX, madrs_max=MADRS_ITEM_MAX,
        cssrs_items=cssrs_rows(), not_asked=NOT_ASKED,
        override_items=override_items(intake, settings), override_field=override_field,
        effect_labels=EFFECT_LABELS, ehr_status=ehr_status_view(view),
    )
    return render_template("intake/intake.html", **page_basics(service, launch_context(), errors or [], status),
                           **page), status
