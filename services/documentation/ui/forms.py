"""HTML forms → the API's request models, so a page's post becomes the same command the JSON API takes and the
service layer validates it (server-side validation is the source of truth; the HTML attributes are only hints):
reading the posted fields, running the command with its errors named as the API names them (``submit``), and the
bodies of the forms with more than flat fields (fasting times, C-SSRS and site readiness, alert action, the
administration record, discharge extras, controlled substance).

A form sends strings: an empty field means "not given", a time typed into ``datetime-local`` has no offset and is
read in the clinic's zone, yes/no questions are radio buttons. Whatever cannot become a command is a
``FormInvalid`` naming the field as the API would (``reading.systolic_mmhg``, ``item_scores[2]``), so the page can
show the message next to the input of that name."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from services.documentation.domain.errors import TransitionNotAllowed
from services.documentation.domain.suicide_risk import CSSRS_QUESTIONS, field_name
from services.documentation.ehr_reads import WeightUnavailable
from services.documentation.presenters import fields_as_sent
from services.documentation.access import service
from shared.api import RequestModel
from shared.clinic_time import ClinicTimeError, parse_clinic_time
from shared.db import RecordNotFound, StaleRecordError
from shared.errors import FieldInputError
from shared.fhir.client import FhirError, FhirUnavailable
from shared.people import ActedRequest
from shared.roles import acting_person
from shared.ui import launch_context
from shared.scales import ALWAYS_ASKED, GATED_BY, CssrsItem

M = TypeVar("M", bound=RequestModel)
T = TypeVar("T")
Issues = list[tuple[str, str]]
YES, NO = "yes", "no"
EXTRA_RATE_ROWS = 2  # the administration form: rate changes after the starting rate
PAUSE_ROWS = 2
FASTING_TIMES = (  # issue 13 defect 18: the times, not a yes/no, checked against the clinic's fasting windows
    ("last_solid_food_at", "Last solid food"),
    ("last_clear_fluids_at", "Last clear fluids"),
)
# The C-SSRS screener in its order, each with the item it is asked after (None: always asked).
CSSRS_ROWS = tuple((field_name(item), CSSRS_QUESTIONS[item], field_name(GATED_BY[item]) if item in GATED_BY else None)
                   for item in CssrsItem)


# What the error summary calls a field (the words of its label), by the last part of the API's name for it: a nurse
# reads "Diastolic (mmHg)", not ``reading.diastolic_mmhg``.
FIELD_LABELS = {
    "systolic_mmhg": "Systolic (mmHg)", "diastolic_mmhg": "Diastolic (mmHg)", "heart_rate_per_min": "Heart rate (/min)",
    "spo2_percent": "SpO2 (%)", "respiratory_rate_per_min": "Resp. rate (/min)", "rass_score": "RASS",
    "at": "Time", "measured_at": "Measured at", "reading_id": "Reading", "reason": "Reason", "kind": "Kind",
    "rate_ml_per_h": "Rate (mL/h)", "detail": "Detail", "text": "Event", "decision": "Decision", "note": "Note",
    "name": "Medication", "dose_value": "Dose", "dose_unit": "Unit", "route": "Route",
    "vitals.at": "Measured at", "end.at": "Pump stop time", "start.at": "Pump start time",
}


def field_labels(fields: Iterable[str]) -> dict[str, str]:
    """The summary's words for each field named in the errors (those without a label keep their name)."""
    labels = {}
    for field in fields:
        label = (FIELD_LABELS.get(field) or FIELD_LABELS.get(field.rsplit(".", 1)[-1])) if field else None
        if label:
            labels[field] = label
    return labels


class FormInvalid(Exception):
    """What the page shows instead of the result: ``issues`` as (field, message), and the HTTP status."""

    def __init__(self, issues: Issues, status: int = 400, refusal: bool = False):
        super().__init__("; ".join(message for _field, message in issues))
        self.issues = issues
        self.status = status
        self.refusal = refusal  # a step the session cannot take now: ``issues`` are its reasons (409)


class Form:
    """The posted fields of one form, read the way the clinic's pages write them."""

    def __init__(self, data: Mapping[str, str], zone: ZoneInfo):
        self.data = data
        self.zone = zone

    def text(self, name: str) -> str:
        return self.multiline(name).strip()

    def multiline(self, name: str) -> str:
        """The value as typed, with the CRLF line ends browsers send for a textarea made plain newlines."""
        return (self.data.get(name) or "").replace("\r\n", "\n")

    def optional(self, name: str) -> str | None:
        """The text, or None for an empty field (pydantic then sees "not given", not an empty number)."""
        return self.text(name) or None

    def time(self, name: str) -> datetime | None:
        """A 24-hour time (``YYYY-MM-DD HH:MM``, no offset) read in the clinic's zone and kept with its offset
        (``shared/clinic_time.py``); empty means now (None). AM/PM, a time that does not exist or happens twice
        in the zone (clock changes) is refused with the reason."""
        value = self.text(name)
        if not value:
            return None
        try:
            return parse_clinic_time(value, self.zone)
        except ClinicTimeError as error:
            raise FormInvalid([(name, str(error))]) from None

    def required_time(self, name: str) -> datetime:
        moment = self.time(name)
        if moment is None:
            raise FormInvalid([(name, "required")])
        return moment

    def day(self, name: str) -> date | None:
        value = self.text(name)
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise FormInvalid([(name, "enter a date (YYYY-MM-DD)")]) from None

    def yes_no(self, names: list[str]) -> dict[str, bool]:
        """Yes/no questions answered with radio buttons: every one answered, or one error per unanswered question
        (no answer is never a silent "no")."""
        unanswered = [name for name in names if self.text(name) not in (YES, NO)]
        if unanswered:
            raise FormInvalid([(name, "answer yes or no") for name in unanswered])
        return {name: self.text(name) == YES for name in names}

    def checked(self, name: str) -> bool:
        return self.text(name) in ("on", YES, "true")


def command(model: type[M], values: dict[str, Any], prefix: str = "") -> M:
    """The request model, or ``FormInvalid`` naming each bad field as the API would (``prefix`` in front)."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise FormInvalid([(_join(prefix, _path(e["loc"])), _message(e)) for e in error.errors(include_url=False)]
                          ) from None


def submit(run: Callable[[M], T], model: type[M], values: dict[str, Any]) -> T:
    """The form's values as the API's request model, run by the service layer; a domain error names the field the
    way the API does (``presenters.fields_as_sent``), so the page shows it next to the input of that name. Who acts
    is the launch's clinician (``acting_person``: their fhirUser, by reference), whatever the form says."""
    body = command(model, values)
    if isinstance(body, ActedRequest):
        body.act_as(acting_person(launch_context(), ehr=service().ehr))
    with fields_as_sent(body):
        return run(body)


def _path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _join(prefix: str, path: str) -> str:
    return f"{prefix}.{path}" if prefix and path else prefix or path


def _message(error: dict[str, Any]) -> str:
    if error["type"] == "missing":
        return "required"
    return str(error["msg"]).removeprefix("Value error, ")


@contextmanager
def outcome_as_form_errors(prefix: str = "") -> Iterator[None]:
    """The errors the API turns into OperationOutcomes, as the page's error list (field names under ``prefix``):
    bad input 400 naming the field, a step the session cannot take 409 with every reason, and the rest."""
    try:
        yield
    except FormInvalid as error:
        raise FormInvalid([(_join(prefix, field) if field else "", message) for field, message in error.issues],
                          error.status, error.refusal) from None
    except FieldInputError as error:
        raise FormInvalid([(_join(prefix, error.field), error.message)]) from None
    except TransitionNotAllowed as error:
        raise FormInvalid([("", reason) for reason in error.failing] or [("", error.reason)], 409,
                          refusal=True) from None
    except StaleRecordError as error:
        raise FormInvalid([("", f"{error}; reload the page and try again")], 409) from None
    except RecordNotFound as error:
        raise FormInvalid([("", str(error.args[0]) if error.args else "not found")], 404) from None
    except WeightUnavailable as error:
        raise FormInvalid([("", str(error))], 422) from None
    except FhirUnavailable:
        raise FormInvalid([("", "the EHR did not answer; nothing was recorded, try again")], 503) from None
    except FhirError as error:
        raise FormInvalid([("", f"the EHR refused the request (HTTP {error.status}); nothing was recorded")],
                          502) from None


# --- the bodies of the forms with more than flat fields -------------------------------------------------------------
def fasting_times(form: Form) -> dict[str, datetime]:
    """The last solid food and clear fluids times (24-hour clinic time): each required, never "now" when empty."""
    missing = [(f"confirmations.{name}", f"{label}: the time is required (ask the patient; 24-hour clinic time)")
               for name, label in FASTING_TIMES if not form.text(f"confirmations.{name}")]
    if missing:
        raise FormInvalid(missing)
    return {name: form.time(f"confirmations.{name}") for name, _label in FASTING_TIMES}  # type: ignore[misc]


def _answer(form: Form, name: str) -> bool | None:
    """A radio pair left unanswered is "not given" (None), so the C-SSRS skip logic and the "required on the day's
    first check" rules are the service's, with its messages next to the fields (``cssrs.ideation_with_method``,
    ``site_readiness.monitoring-ready``)."""
    value = form.text(name)
    return True if value == YES else False if value == NO else None


def cssrs_answers(form: Form, already_screened: bool) -> dict[str, Any] | None:
    """The C-SSRS answers posted, or None when none were given and the day's screener is already recorded."""
    answers = {name: _answer(form, f"cssrs.{name}") for name, _question, _gate in CSSRS_ROWS}
    if already_screened and all(answer is None for answer in answers.values()):
        return None
    always = {field_name(item) for item in ALWAYS_ASKED}
    return {name: answer for name, answer in answers.items() if answer is not None or name in always}


def readiness_answers(form: Form, items: list[str], already_confirmed: bool) -> dict[str, bool] | None:
    """The checklist answers posted (unanswered items left out, so the service names them), or None when none
    were given and the checklist was confirmed at an earlier check today."""
    answers = {item: _answer(form, f"site_readiness.{item}") for item in items}
    if already_confirmed and all(answer is None for answer in answers.values()):
        return None
    return {item: answer for item, answer in answers.items() if answer is not None}


def alert_action_body(form: Form, by: str) -> dict[str, Any]:
    """The action with its new rate (rate reduced) or its medication (medication given)."""
    body: dict[str, Any] = {"by": by, "at": form.time("at"), "kind": form.text("kind"), "detail": form.text("detail"),
                            "rate_ml_per_h": form.optional("rate_ml_per_h")}
    if form.text("kind") == "medication-given" or form.text("rescue.name"):
        body["rescue"] = {"name": form.text("rescue.name"), "dose_value": form.optional("rescue.dose_value"),
                          "dose_unit": form.text("rescue.dose_unit"), "route": form.text("rescue.route")}
    return body


def discharge_extras(form: Form) -> dict[str, Any]:
    return {"escort_name": form.text("escort_name"), "escort_relationship": form.text("escort_relationship"),
            "instructions_acknowledged": form.checked("instructions_acknowledged")}


def controlled_substance_body(form: Form, by: str) -> dict[str, Any]:
    """The witness is the Practitioner chosen from the EHR's list."""
    return {"by": by, "at": form.time("at"), "product": form.text("product"),
            "product_code": form.text("product_code"), "lot_number": form.text("lot_number"),
            "lot_expiry": form.day("lot_expiry"), "drawn_mg": form.optional("drawn_mg"),
            "given_mg": form.optional("given_mg"), "wasted_mg": form.optional("wasted_mg"),
            "waste_method": form.text("waste_method"),
            "witness": {"reference": form.text("witness.reference")}}


def administration_body(form: Form, by: str) -> dict[str, Any]:
    started_at = form.required_time("started_at")
    rate_changes = [{"at": started_at, "rate_ml_per_h": form.optional("rate_changes[0].rate_ml_per_h")}]
    for index in range(1, EXTRA_RATE_ROWS + 1):
        at, rate = form.text(f"rate_changes[{index}].at"), form.optional(f"rate_changes[{index}].rate_ml_per_h")
        if at or rate:
            rate_changes.append({"at": form.time(f"rate_changes[{index}].at"), "rate_ml_per_h": rate})
    pauses = []
    for index in range(PAUSE_ROWS):
        names = [f"pauses[{index}].{part}" for part in ("paused_at", "resumed_at", "reason")]
        if any(form.text(name) for name in names):
            pauses.append({"paused_at": form.time(names[0]), "resumed_at": form.time(names[1]),
                           "reason": form.text(names[2])})
    return {"by": by, "started_at": started_at, "stopped_at": form.required_time("stopped_at"),
            "rate_changes": rate_changes, "pauses": pauses, "lot_number": form.text("lot_number"),
            "lot_expiry": form.day("lot_expiry"),
            "concentration_mg_per_ml": form.optional("concentration_mg_per_ml"),
            "entered_total_ml": form.optional("entered_total_ml"),
            "entered_total_mg": form.optional("entered_total_mg"),
            "dose_discrepancy_reason": form.text("dose_discrepancy_reason")}
