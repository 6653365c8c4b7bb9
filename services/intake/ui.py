"""The intake's clinician pages (server-rendered; opened from the EHR chart as a SMART app).

- ``GET /``: the patient in context: banner (with the eligibility of the latest decision), their intakes, "start".
- ``POST /ui/intakes``: start an intake for that patient, pre-filled from the EHR.
- ``GET /ui/intakes/<id>``: one form per part, what is still missing, overrides, "decide".
- ``POST /ui/intakes/<id>/<part>``: record a part (trials, contraindications, vitals, phq9, madrs, cssrs, consent),
  ``.../overrides``, ``.../decision`` and ``.../reopen``.
- ``GET /ui/intakes/<id>/decision``: the outcome with every reason.

Views call the same service-layer functions as the API, for the patient of the launch only (an intake of another
patient is refused). A refused form is shown again as typed, with the domain's message next to the field and in
the error summary; nothing is saved. Every post is checked against cross-site forgery (``shared.ui.forms``).
"""
from __future__ import annotations

from shared.errors import FieldInputError

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for

from services.intake.access import ELIGIBILITY, INTAKE_RECORD, PART_RESOURCE_TYPES, intake_patient
from services.intake.domain.errors import IntakeInputError, IntakeStateError
from services.intake.domain.model import Intake
from services.intake.domain.contraindications import ContraindicationClass, Presence, contraindication_label
from services.intake.domain.consent import consent_element_label
from services.intake.domain.cssrs import ALWAYS_ASKED, GATED_BY, CssrsItem, CssrsRisk
from services.intake.domain.pregnancy import childbearing_potential
from services.intake.domain.reviews import ReviewOutcome
from services.intake.domain.decision import ReasonEffect
from services.intake.domain.medications import interacting_drug_flags
from services.intake.domain.overrides import OverrideTarget
from services.intake.domain.progress import missing_items
from services.intake.domain.scales import PHQ9_ITEM_MAX, MADRS_ITEM_MAX
from services.intake.ehr_reads import EhrDataError, EhrNotFound, EhrRefused, EhrUnavailable
from services.intake.handlers import IntakeService, IntakeView
from services.intake.repository import IntakeNotFound
from services.intake.translators.codes import CSSRS_ITEMS, MADRS_ITEMS, PHQ9_ITEMS
from services.intake.ui_forms import (
    FIELD_PREFIXES,
    NOT_ASKED,
    VITAL_MEASURES,
    consent_element_field,
    consent_from_form,
    contraindication_keys,
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
from shared.clinic_time import current_clinic_zone, format_clinic_time
from shared.db import StaleRecordError
from shared.roles import ATTESTATIONS, require_prescriber
from shared.smart import SmartAuthError, SmartContext, requires
from shared.ui import (
    check_same_patient, clinician_name, guard_form_posts, in_launch_context, launch_context, patient_banner,
)

PART_TITLES = {
    "trials": "Prior antidepressant trials", "contraindications": "Contraindication screen",
    "vitals": "Baseline vital signs", "phq9": "PHQ-9", "madrs": "MADRS", "cssrs": "C-SSRS screener",
    "consent": "Informed consent", "cssrs_review": "C-SSRS behavioural-health review",
    "urgent_use": "Urgent use (TRD rule set aside)", "overrides": "Overrides", "decision": "Decision",
    "reopen": "Reopen",
    "conditions": "Problem list", "medications": "Medication list",
}
EFFECT_LABELS = {ReasonEffect.INFO: "Information", ReasonEffect.REVIEW: "Needs review",
                 ReasonEffect.BLOCK: "Not eligible"}
NOT_DECIDED = "not-decided"
NOT_SAVED = "Not saved: please correct the following"
ERROR_HEADINGS = {400: NOT_SAVED, 409: "Not saved"}  # 409: the intake's state refused it, not a field

PartRecorder = Callable[[IntakeService, str, Any, str, datetime], IntakeView]


def create_ui(service: IntakeService) -> Blueprint:
    ui = Blueprint("intake_ui", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/ui/intake-static")
    of_intake = intake_patient(service)
    guard_form_posts(ui)

    # --- pages ------------------------------------------------------------------------------------------------
    @ui.get("/")
    @requires(INTAKE_RECORD, "s", patient=in_launch_context)
    def home():  # type: ignore[no-untyped-def]
        return _home(service)

    @ui.post("/ui/intakes")
    @requires(INTAKE_RECORD, "c", patient=in_launch_context)
    def start_intake():  # type: ignore[no-untyped-def]
        context = launch_context()
        if not context.patient:
            return _home(service)
        try:
            view, _created = service.start(context.patient, _recorded_by(context))
        except (EhrNotFound, EhrDataError) as error:
            return _home(service, errors=[("", f"The EHR record cannot start an intake: {error}")], status=422)
        except (EhrUnavailable, EhrRefused):
            return _home(service, errors=[("", "The EHR is not answering; nothing was started. Try again shortly.")],
                         status=503)
        return redirect(url_for("intake_ui.intake_page", intake_id=view.intake.intake_id), code=303)

    @ui.get("/ui/intakes/<intake_id>")
    @requires(INTAKE_RECORD, "r", patient=of_intake)
    def intake_page(intake_id: str):  # type: ignore[no-untyped-def]
        view = _own_intake(service, intake_id)
        saved = request.args.get("saved", "")
        return _render_intake(service, view, notice=_saved_notice(saved, view.intake) if saved else None)

    @ui.get("/ui/intakes/<intake_id>/decision")
    @requires(ELIGIBILITY, "r", patient=of_intake)
    def decision_page(intake_id: str):  # type: ignore[no-untyped-def]
        view = _own_intake(service, intake_id)
        if view.intake.decision is None:
            return redirect(url_for("intake_ui.intake_page", intake_id=intake_id, _anchor="decide"), code=303)
        return _render_decision(service, view)

    # --- recording the parts ----------------------------------------------------------------------------------
    def add_part(part: str, record: PartRecorder) -> None:
        def view_function(intake_id: str):  # type: ignore[no-untyped-def]
            return _post(service, intake_id, part, record)

        view_function.__name__ = f"record_{part}"
        view = requires(PART_RESOURCE_TYPES[part], "u", patient=of_intake)(view_function)
        ui.add_url_rule(f"/ui/intakes/<intake_id>/{part}", endpoint=f"record_{part}", view_func=view,
                        methods=["POST"])

    for part, record in _RECORDERS.items():
        add_part(part, record)

    @ui.post("/ui/intakes/<intake_id>/overrides")
    @requires(ELIGIBILITY, "u", patient=of_intake)
    def record_override(intake_id: str):  # type: ignore[no-untyped-def]
        target, key = request.form.get("override.target", ""), request.form.get("override.key", "")

        def record(svc: IntakeService, intake_id: str, form: Any, by: str, now: datetime) -> IntakeView:
            try:
                return svc.record_override(intake_id, override_from_form(form, by, now))
            except FieldInputError as error:
                raise IntakeInputError(override_field(target, key), error.message) from None

        return _post(service, intake_id, "overrides", record)

    @ui.post("/ui/intakes/<intake_id>/cssrs_review")
    @requires(ELIGIBILITY, "u", patient=of_intake)
    def record_cssrs_review(intake_id: str):  # type: ignore[no-untyped-def]
        return _post(service, intake_id, "cssrs_review", _record_cssrs_review)

    @ui.post("/ui/intakes/<intake_id>/urgent_use")
    @requires(ELIGIBILITY, "u", patient=of_intake)
    def record_urgent_use(intake_id: str):  # type: ignore[no-untyped-def]
        return _post(service, intake_id, "urgent_use", _record_urgent_use)

    @ui.post("/ui/intakes/<intake_id>/decision")
    @requires(ELIGIBILITY, "cu", patient=of_intake)
    def decide(intake_id: str):  # type: ignore[no-untyped-def]
        """Only a prescriber decides (403 page otherwise), ticking the attestation, which the decision keeps."""
        require_prescriber(launch_context(), "decide eligibility")

        def record(svc: IntakeService, i: str, form: Any, by: str, _now: datetime) -> IntakeView:
            if form.get("decision.attested") != "yes":
                raise IntakeInputError("decision.attested", "tick the attestation to decide")
            return svc.decide(i, by, attestation=ATTESTATIONS["decide-eligibility"])

        return _post(service, intake_id, "decision", record,
                     then=lambda view: url_for("intake_ui.decision_page", intake_id=view.intake.intake_id))

    @ui.post("/ui/intakes/<intake_id>/reopen")
    @requires(ELIGIBILITY, "u", patient=of_intake)
    def reopen(intake_id: str):  # type: ignore[no-untyped-def]
        def record(svc: IntakeService, intake_id: str, form: Any, by: str, _now: datetime) -> IntakeView:
            reason = (form.get("reopen.reason") or "").strip()
            if not reason:
                raise IntakeInputError("reopen.reason", "say why the decision is set aside")
            return svc.reopen(intake_id, by, reason)

        return _post(service, intake_id, "reopen", record, on_refusal=_render_decision,
                     then=lambda view: url_for("intake_ui.intake_page", intake_id=intake_id, saved="reopen"))

    @ui.app_template_filter("when")
    def when(moment: datetime | None) -> str:
        """A time as every page and the note write it: 24-hour clinic time with its zone (``shared/clinic_time.py``,
        KETALINK_CLINIC_TIMEZONE), not UTC."""
        return format_clinic_time(moment, current_clinic_zone(), missing="")

    return ui


# --- the part recorders: form → service layer, domain errors named by the form's field ---------------------------
def _record_trials(service: IntakeService, intake_id: str, form: Any, _by: str, _now: datetime) -> IntakeView:
    parsed = trials_from_form(form)
    try:
        return service.record_trials(intake_id, parsed.trials)
    except FieldInputError as error:
        raise IntakeInputError(parsed.form_field(error.field), error.message) from None


def _record_contraindications(service: IntakeService, intake_id: str, form: Any, by: str,
                              now: datetime) -> IntakeView:
    parsed = screen_from_form(form, service.settings)
    try:
        return service.record_contraindications(intake_id, parsed.answers, by, now)
    except FieldInputError as error:
        raise IntakeInputError(parsed.form_field(error.field), error.message) from None


_RECORDERS: dict[str, PartRecorder] = {
    "trials": _record_trials,
    "contraindications": _record_contraindications,
    "vitals": lambda svc, i, form, _by, now: svc.record_vitals(i, vitals_from_form(form, now)),
    "phq9": lambda svc, i, form, _by, now: svc.record_phq9(
        i, scale_items_from_form(form, "phq9", scale_item_count("phq9")), now),
    "madrs": lambda svc, i, form, by, now: svc.record_madrs(
        i, scale_items_from_form(form, "madrs", scale_item_count("madrs")), now, by),
    "cssrs": lambda svc, i, form, _by, now: svc.record_cssrs(i, cssrs_from_form(form), now),
    "consent": lambda svc, i, form, _by, now: svc.record_consent(i, consent_from_form(form, now, svc.settings)),
}


def _record_cssrs_review(service: IntakeService, intake_id: str, form: Any, by: str, _now: datetime) -> IntakeView:
    """The behavioural-health review, by the signed-in clinician (``by``)."""
    outcome = (form.get("cssrs_review.outcome") or "").strip()
    if outcome not in {o.value for o in ReviewOutcome}:
        raise IntakeInputError("cssrs_review.outcome", "choose proceed or do not proceed")
    return service.record_cssrs_review(intake_id, outcome, (form.get("cssrs_review.note") or "").strip(), by)


def _record_urgent_use(service: IntakeService, intake_id: str, form: Any, by: str, _now: datetime) -> IntakeView:
    """A prescriber's urgent-use override: the role is checked here, from the EHR (shared/roles.py)."""
    roles = require_prescriber(launch_context(), "set the TRD rule aside for urgent use")
    return service.record_urgent_use(intake_id, (form.get("urgent_use.reason") or "").strip(), by,
                                     roles is not None)


def _post(service: IntakeService, intake_id: str, part: str, record: PartRecorder,
          then: Callable[[IntakeView], str] | None = None,
          on_refusal: Callable[..., tuple[str, int]] | None = None) -> Response | tuple[str, int]:
    """Record (the post passed the form guard), then redirect (so a reload never posts again); a refusal shows the
    page again with the form as typed and the reason next to the field (400) or at the top (409)."""
    view = _own_intake(service, intake_id)
    context = launch_context()
    refuse = on_refusal or _render_intake
    try:
        now = service.now().replace(microsecond=0)  # the time recorded and shown with the part
        changed = record(service, intake_id, request.form, _recorded_by(context), now)
    except FieldInputError as error:
        return refuse(service, view, failed_part=part, errors=[(error.field, error.message)], status=400)
    except IntakeStateError as error:
        return refuse(service, view, failed_part=part, errors=[("", error.message)], status=409)
    except StaleRecordError:
        return refuse(service, _own_intake(service, intake_id), failed_part=part, status=409, errors=[
            ("", "The intake changed at the same time (another screen?). Check it and save again.")])
    target = then(changed) if then else url_for("intake_ui.intake_page", intake_id=intake_id, saved=part,
                                                _anchor=part)
    return redirect(target, code=303)


# --- page building ------------------------------------------------------------------------------------------------
def _own_intake(service: IntakeService, intake_id: str) -> IntakeView:
    """The intake, if it is the launch's patient's: a page never shows another patient's record."""
    try:
        view = service.get(intake_id)
    except IntakeNotFound:
        raise SmartAuthError(404, "There is no such intake.", title="Not found", page="not-found") from None
    check_same_patient(view.intake.patient_id, "intake")
    return view


def _recorded_by(context: SmartContext) -> str:
    """Who is recording, as the parts' ``*_by`` fields keep it: the launch's fhirUser by name, or by its URL when
    the EHR cannot give the name."""
    return clinician_name(context) or context.fhir_user or "unknown clinician"


def _latest_eligibility(intakes: list[Intake]) -> str:
    decided = [i.decision for i in intakes if i.decision is not None]
    return max(decided, key=lambda d: d.decided_at).outcome.value if decided else NOT_DECIDED


def _page_basics(service: IntakeService, context: SmartContext, errors: list[tuple[str, str]], status: int
                 ) -> dict[str, Any]:
    """What every intake page gives the layout: banner, clinician, and the error summary with each field in words."""
    patient_id = context.patient
    eligibility = _latest_eligibility(service.for_patient(patient_id)) if patient_id else None
    return {
        "banner": patient_banner(context, patient_id, eligibility=eligibility) if patient_id else None,
        "clinician": _recorded_by(context),
        "part_titles": PART_TITLES,
        "errors": errors,
        "field_labels": {field: _field_label(field, service.settings) for field, _message in errors if field},
        "error_heading": ERROR_HEADINGS.get(status),
        "field_errors": {field: message for field, message in errors if field},
    }


def _home(service: IntakeService, errors: list[tuple[str, str]] | None = None, status: int = 200
          ) -> tuple[str, int]:
    context = launch_context()
    intakes = list(reversed(service.for_patient(context.patient))) if context.patient else []
    basics = _page_basics(service, context, errors or [], status) | {"error_heading": "The intake was not started"}
    return render_template("intake/home.html", **basics, intakes=intakes, has_patient=bool(context.patient),
                           values={}), status


def _render_decision(service: IntakeService, view: IntakeView, *, failed_part: str | None = None,
                     errors: list[tuple[str, str]] | None = None, status: int = 200) -> tuple[str, int]:
    if view.intake.decision is None:  # reopened meanwhile: the intake page says what there is
        return _render_intake(service, view, errors=[("", m) for _f, m in errors or []], status=status)
    values = {k: v for k, v in request.form.items() if k.startswith("reopen.")} if failed_part else {}
    return render_template(
        "intake/decision.html", **_page_basics(service, launch_context(), errors or [], status), view=view,
        intake=view.intake, decision=view.intake.decision, effect_labels=EFFECT_LABELS, values=values), status


def _render_intake(service: IntakeService, view: IntakeView, *, failed_part: str | None = None,
                   errors: list[tuple[str, str]] | None = None, status: int = 200,
                   notice: str | None = None) -> tuple[str, int]:
    settings = service.settings
    intake = view.intake
    values = stored_values(intake, settings)
    if failed_part in FIELD_PREFIXES:  # show the refused form as it was typed
        prefixes = FIELD_PREFIXES[failed_part]
        values = {k: v for k, v in values.items() if not k.startswith(prefixes)}
        values.update({k: v for k, v in request.form.items() if k.startswith(prefixes)})
    return render_template(
        "intake/intake.html", **_page_basics(service, launch_context(), errors or [], status), view=view,
        intake=intake, values=values, failed_part=failed_part, notice=notice, locked=intake.decision is not None,
        missing=missing_items(intake, settings), trial_rows=trial_rows(values),
        contraindications=_contraindication_rows(settings, intake),
        consent_elements=[{"key": key, "label": consent_element_label(key), "field": consent_element_field(key)}
                          for key in settings.consent_elements],
        review_needed=intake.cssrs is not None and intake.cssrs.risk.rank >= CssrsRisk.MODERATE.rank,
        urgent_use_allowed=settings.urgent_use_allowed,
        vital_measures=VITAL_MEASURES, ranges=_ranges(settings),
        phq9_items=[code.display for code in PHQ9_ITEMS], madrs_items=[code.display for code in MADRS_ITEMS],
        phq9_max=PHQ9_ITEM_MAX, madrs_max=MADRS_ITEM_MAX,
        cssrs_items=_cssrs_rows(), not_asked=NOT_ASKED,
        override_items=_override_items(intake, settings), override_field=override_field,
        effect_labels=EFFECT_LABELS,
    ), status


def _contraindication_rows(settings: Any, intake: Intake) -> list[dict[str, Any]]:
    """One row per configured item; "not applicable" is offered only where the EHR record shows the item cannot
    apply (pregnancy for a patient without child-bearing potential, domain/pregnancy.py)."""
    not_applicable = not childbearing_potential(intake.patient, settings)
    return [{"row": row, "key": key, "label": contraindication_label(key),
             "absolute": settings.contraindication_class(key) is ContraindicationClass.ABSOLUTE,
             "not_applicable": not_applicable and key in settings.sex_and_age_dependent_contraindications}
            for row, key in enumerate(contraindication_keys(settings))]


def _cssrs_rows() -> list[dict[str, Any]]:
    rows = []
    for number, item in enumerate(CssrsItem, start=1):
        gate = GATED_BY.get(item)
        label = "6b" if item is CssrsItem.SUICIDAL_BEHAVIOUR_PAST_3_MONTHS else str(number)
        gate_number = {CssrsItem.SUICIDAL_THOUGHTS: "2", CssrsItem.SUICIDAL_BEHAVIOUR_LIFETIME: "6"}.get(gate)
        rows.append({"key": item.value, "number": label, "question": CSSRS_ITEMS[item].display,
                     "required": item in ALWAYS_ASKED,
                     "hint": f"Ask only if {gate_number} is yes" if gate_number else None})
    return rows


def _override_items(intake: Intake, settings: Any) -> list[dict[str, Any]]:
    """Relative contraindications answered present/unknown and flagged current drugs: what an override can clear."""
    items = []
    screen = intake.contraindications
    for key in settings.relative_contraindications:
        answer = screen.answer_for(key) if screen else None
        if answer is not None and answer.presence not in (Presence.ABSENT, Presence.NOT_APPLICABLE):
            items.append({"target": OverrideTarget.CONTRAINDICATION.value, "key": key,
                          "label": contraindication_label(key), "state": answer.presence.value})
    seen: set[str] = set()
    for flag in interacting_drug_flags(intake.medications or (), settings.interacting_drug_class_terms,
                                       settings.interacting_drug_class_codes):
        if flag.drug_class in seen or flag.drug_class in settings.blocking_interacting_drug_classes:
            continue
        seen.add(flag.drug_class)
        items.append({"target": OverrideTarget.INTERACTING_DRUG_CLASS.value, "key": flag.drug_class,
                      "label": f"Interacting drug ({flag.drug_class}): {flag.drug_name}", "state": "current"})
    for item in items:
        item["override"] = next((o for o in intake.overrides
                                 if o.target.value == item["target"] and o.key == item["key"]), None)
    return items


def _ranges(settings: Any) -> dict[str, tuple[float, float]]:
    return {
        "systolic_mmhg": settings.plausible_range("systolic_plausible_range_mmhg"),
        "diastolic_mmhg": settings.plausible_range("diastolic_plausible_range_mmhg"),
        "heart_rate_per_min": settings.plausible_range("heart_rate_plausible_range_per_min"),
        "spo2_pct": settings.plausible_range("spo2_plausible_range_pct"),
        "respiratory_rate_per_min": settings.plausible_range("respiratory_rate_plausible_range_per_min"),
        "weight_kg": settings.plausible_range("weight_plausible_range_kg"),
        "height_cm": settings.plausible_range("height_plausible_range_cm"),
    }


def _saved_notice(part: str, intake: Intake) -> str | None:
    if part == "phq9" and intake.phq9 is not None:
        return f"PHQ-9 saved: total {intake.phq9.total_score} of 27."
    if part == "madrs" and intake.madrs is not None:
        return f"MADRS saved: total {intake.madrs.total_score} of 60."
    if part == "cssrs" and intake.cssrs is not None:
        return f"C-SSRS screener saved: risk {intake.cssrs.risk.value}."
    if part == "reopen":
        return "Intake reopened: the earlier decision is kept in its history."
    title = PART_TITLES.get(part)
    return f"{title} saved." if title else None


def _field_label(field: str, settings: Any) -> str:
    """A field path in words, for the error summary ("PHQ-9 item 9", "Trial 2: improvement")."""
    if not field:
        return ""
    if match := re.match(r"^(phq9|madrs)\.items\[(\d+)\]$", field):
        return f"{PART_TITLES[match.group(1)]} item {int(match.group(2)) + 1}"
    if match := re.match(r"^trials\[(\d+)\]\.(\w+)$", field):
        words = {"drug_name": "drug", "dose_text": "dose", "duration_weeks": "weeks", "adequate_dose": "adequate dose",
                 "improvement_pct": "improvement %", "current_episode": "current episode"}
        return f"Trial {int(match.group(1)) + 1}: {words.get(match.group(2), match.group(2))}"
    if match := re.match(r"^contraindications\.answers\[(\d+)\]", field):
        keys = contraindication_keys(settings)
        row = int(match.group(1))
        return contraindication_label(keys[row]) if row < len(keys) else "Contraindication screen"
    if match := re.match(r"^vitals\.(\w+)(?:\.(\w+))?$", field):
        measure, part = match.groups()
        if measure == "blood_pressure":
            return "Systolic blood pressure" if part == "systolic_mmhg" else "Diastolic blood pressure"
        return next((label for name, label, _unit in VITAL_MEASURES if name == measure), "Baseline vital signs")
    if field.startswith("cssrs."):
        item = field.split(".", 1)[1]
        row = next((r for r in _cssrs_rows() if r["key"] == item), None)
        return f"C-SSRS item {row['number']}" if row else "C-SSRS screener"
    if field.startswith("consent.elements"):
        return "Consent: elements explained and acknowledged"
    if field.startswith("cssrs_review"):
        return "C-SSRS review: " + ("note" if field.endswith("note") else "outcome")
    if field.startswith("urgent_use"):
        return "Urgent use: reason"
    if field.startswith("consent."):
        words = {"decision": "decision", "signed_by": "signed by", "signer_name": "signer's name",
                 "consent_text_version": "consent text version", "ride_home_agreed": "ride home"}
        return f"Consent: {words.get(field.split('.', 1)[1], field.split('.', 1)[1])}"
    if field.startswith("override."):
        parts = field.split(".")
        return f"Override: {contraindication_label(parts[2])}" if len(parts) > 3 else "Override"
    if field.startswith("reopen."):
        return "Reason for reopening"
    return field
