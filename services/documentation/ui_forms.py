"""HTML forms → the API's request models, so a page's post becomes the same command the JSON API takes and the
service layer validates it (server-side validation is the source of truth; the HTML attributes are only hints).

A form sends strings: an empty field means "not given", a time typed into ``datetime-local`` has no offset and is
read in the clinic's zone, yes/no questions are radio buttons. Whatever cannot become a command is a
``FormInvalid`` naming the field as the API would (``reading.systolic_mmhg``, ``item_scores[2]``), so the page can
show the message next to the input of that name."""
from __future__ import annotations

from shared.errors import FieldInputError

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from services.documentation.domain.errors import TransitionNotAllowed
from services.documentation.ehr_reads import WeightUnavailable
from shared.api import RequestModel
from shared.clinic_time import ClinicTimeError, parse_clinic_time
from shared.db import RecordNotFound, StaleRecordError
from shared.fhir.client import FhirError, FhirUnavailable

M = TypeVar("M", bound=RequestModel)
Issues = list[tuple[str, str]]
YES, NO = "yes", "no"


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
