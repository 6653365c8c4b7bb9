"""The pre-infusion check page: vital signs, the confirmations and fasting times, the pregnancy check (offered as
"not applicable" only when the EHR record allows it), the day's C-SSRS screener and the site-readiness checklist."""
from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from services.documentation import commands as c
from services.documentation.access import IN_SESSION, service
from services.documentation.domain.pre_check import PregnancyCheck
from services.documentation.domain.settings import PRE_CHECK_READINGS
from services.documentation.domain.site_readiness import item_label
from services.documentation.handlers import new_id
from services.documentation.presenters import pre_check_context_view
from services.documentation.ui.forms import (
    CSSRS_ROWS, FASTING_TIMES, Form, cssrs_answers, fasting_times, readiness_answers, submit,
)
from services.documentation.ui.pages import clinician, options, own_session, page, post_form, redrawn, session_view, ui
from services.documentation.ui.session import REVIEW_DECISIONS, VITALS_FIELDS, latest_check
from shared.smart import requires

CONFIRMATIONS = (
    ("ride_home_confirmed", "Ride home with a responsible adult arranged?"),
    ("no_new_contraindication_since_intake", "No new contraindication since intake?"),
    ("no_new_interacting_drug_since_intake", "No new interacting drug since intake?"),
)


def pre_check_page(view: dict[str, Any], status: int = 200, errors: list[tuple[str, str]] | None = None,
                   values: Any = None) -> tuple[str, int]:
    latest = view["pre_checks"][-1] if view["pre_checks"] else None
    context = (pre_check_context_view(service().pregnancy_today(view["session_id"]), service().settings)
               if view["status"] in ("checked-in", "pre-check") else  # the pregnancy rule read from the EHR today
               {"pregnancy": {"applicable": True, "basis": ""}, "fasting_solids_hours": None,
                "fasting_clear_fluids_hours": None, "required_readings": PRE_CHECK_READINGS})
    pregnancy = context["pregnancy"]
    pregnancy_checks = [(value, text) for value, text in options(PregnancyCheck)
                        if pregnancy["applicable"] is False or value != PregnancyCheck.NOT_APPLICABLE.value]
    return page("documentation/pre_check.html", status, errors=errors, values=values, session=view,
                confirmations=CONFIRMATIONS, pregnancy_checks=pregnancy_checks, pregnancy=pregnancy,
                fasting_times=FASTING_TIMES, fasting_solids_hours=context["fasting_solids_hours"],
                fasting_clear_fluids_hours=context["fasting_clear_fluids_hours"],
                required_readings=context["required_readings"],
                new_reading_id=new_id(), latest_check=latest_check(view), cssrs_rows=CSSRS_ROWS,
                cssrs_done=bool(view["cssrs_screens"]), readiness_items=_readiness_rows(view["site_readiness_items"]),
                readiness_done=bool(latest and latest["site_readiness"]), review_decisions=REVIEW_DECISIONS)


@ui.get("/ui/sessions/<session_id>/pre-check")
@requires("Encounter", "r", **IN_SESSION)
def pre_check_form(session_id: str) -> ResponseReturnValue:
    return pre_check_page(own_session(session_id))


@ui.post("/ui/sessions/<session_id>/pre-check")
@requires("Encounter", "u", **IN_SESSION)
@requires("Observation", "c", **IN_SESSION)
def pre_check(session_id: str) -> ResponseReturnValue:
    def run(form: Form) -> None:
        answers = form.yes_no([f"confirmations.{name}" for name, _question in CONFIRMATIONS])
        fasting = fasting_times(form)
        reading = {name: form.optional(f"reading.{name}") for name in VITALS_FIELDS}
        reading["reading_id"] = form.optional("reading.reading_id")
        confirmations = {name.removeprefix("confirmations."): answer for name, answer in answers.items()}
        view = session_view(session_id)
        latest = view["pre_checks"][-1] if view["pre_checks"] else None
        submit(lambda body: service().pre_check(session_id, body), c.PreCheck, {
            "by": clinician(), "at": form.time("at"), "reading": reading,
            "confirmations": {**confirmations, **fasting,
                              "pregnancy_check": form.text("confirmations.pregnancy_check"),
                              "findings": form.text("confirmations.findings")},
            "cssrs": cssrs_answers(form, bool(view["cssrs_screens"])),
            "site_readiness": readiness_answers(form, view["site_readiness_items"],
                                                bool(latest and latest["site_readiness"]))})

    return post_form(session_id, run, redrawn(pre_check_page), ".session_page", "pre-check", "next-step")


def _readiness_rows(items: list[str]) -> list[tuple[str, str]]:
    return [(item, item_label(item)) for item in items]
