"""The patient's questionnaire page: opened from the link the clinic gave them, on a phone, without signing in.

- ``GET /q/<token>``: the questionnaire the link is for, one question per fieldset, big touch targets; crisis
  contacts on every page. PHQ-9 and GAD-7 in their own wording (below); QIDS-SR16 in the clinic's, from its
  Questionnaire file (``domain/patient_instruments.py``), each item with its own four answers, rendered as plain
  escaped text. A link whose scale has no wording any more (the clinic's file unset since) is refused as not found.
- ``POST /q/<token>``: the answers recorded on the course (``submit_patient_link``: the same score, Observation and
  suicidality alert as a clinic score, source patient); a thank-you page, with the crisis contacts first and in an
  alert when the suicide item was answered above 0. A missing answer re-shows the form (400) naming the question.

A link that was used answers 410 "already sent", an expired one 410 "expired", anything else 404 "not found", each
a plain page that says nothing about whose link it was. Every request counts against the client's address
(``ORDERS_COURSE_PRO_LINK_PAGE_REQUESTS_PER_MINUTE``, by ``client_address``; 429 beyond it). A failure is a plain 500 page and a log line
that names the route, not the path with its token. No SMART session: the token is the only
credential, it is in the path (never a query string that proxies log) and the pages are ``no-store`` and send no
Referer elsewhere (the edge's ``Referrer-Policy: same-origin``)."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, render_template, request
from werkzeug.exceptions import HTTPException

from services.orders.course.access import course_service
from services.orders.course.domain.errors import CourseInputError
from services.orders.course.domain.patient_links import LinkState
from services.orders.course.handlers.patient_reports import LinkRefused
from services.orders.course.ui.forms import integer
from shared.fhir.instrument_codes import SCALE_ITEMS
from shared.scales import DEFINITIONS, Scale
from shared.web import traceback_frames

log = logging.getLogger(__name__)

# Rooted at the orders service's directory, where templates/ and static/ are. No form guard: no session to forge.
patient_blueprint = Blueprint("patient_ui", "services.orders", template_folder="templates")
PATIENT_PAGE_ENDPOINTS = ("patient_ui.questionnaire", "patient_ui.submit")

# The wording the patient reads: the instruments' own stem and LOINC answer list LL358-3 (PHQ-9 and GAD-7).
FREQUENCY_ANSWERS = ((0, "Not at all"), (1, "Several days"), (2, "More than half the days"), (3, "Nearly every day"))
STEMS = {
    Scale.PHQ9: "Over the last 2 weeks, how often have you been bothered by any of the following problems?",
    Scale.GAD7: "Over the last 2 weeks, how often have you been bothered by the following problems?",
}
TITLES = {Scale.PHQ9: "How have you been feeling?", Scale.GAD7: "How anxious have you been feeling?"}
REFUSALS = {
    LinkState.USED: (410, "These answers have already been sent",
                     "This questionnaire link has been used. Your clinic has the answers sent with it. "
                     "If you want to tell them more, please call the clinic."),
    LinkState.EXPIRED: (410, "This link has expired",
                        "Questionnaire links work for a limited time. Please ask your clinic for a new one."),
    LinkState.UNKNOWN: (404, "Questionnaire not found",
                        "This link does not work. Please check it was copied in full, or ask your clinic for a "
                        "new one."),
}
PAGE_LIMIT = (429, "Too many requests", "Please wait a minute and try again.")
PAGE_FAILED = (500, "Something went wrong", "Your answers were not saved. Please try again in a few minutes, or "
                                            "call your clinic.")


@patient_blueprint.get("/q/<token>")
def questionnaire(token: str) -> Response:
    if not _allowed():
        return _message(*PAGE_LIMIT)
    try:
        link = course_service().open_link(token)
    except LinkRefused as refused:
        return _message(*REFUSALS[refused.state])
    return _form(token, link.scale)


@patient_blueprint.post("/q/<token>")
def submit(token: str) -> Response:
    if not _allowed():
        return _message(*PAGE_LIMIT)
    service = course_service()
    try:
        scale = service.open_link(token).scale
    except LinkRefused as refused:
        return _message(*REFUSALS[refused.state])
    if _wording(scale) is None:
        return _message(*REFUSALS[LinkState.UNKNOWN])
    items = tuple(integer(request.form.get(f"item-{n}")) for n in range(1, DEFINITIONS[scale].item_count + 1))
    try:
        submission = service.submit_patient_link(token, items)
    except LinkRefused as refused:  # used or expired between the check and the submission
        return _message(*REFUSALS[refused.state])
    except CourseInputError as error:
        errors = [(_item_field(v.field), _patient_words(v.field, v.message)) for v in error.violations]
        return _form(token, scale, errors=errors, typed=request.form, status=400)
    return _page("orders/course/patient_done.html", 201, positive=submission.suicide_item_positive)


@patient_blueprint.errorhandler(Exception)
def _unexpected(error: Exception) -> Response | HTTPException:
    """A failure on a patient page: a plain page for the patient, and a log line naming the route, never the
    path (it holds the link's token)."""
    if isinstance(error, HTTPException):
        return error
    log.error("patient page failed", extra={"endpoint": request.endpoint, "error": type(error).__qualname__,
                                            "traceback": traceback_frames(error)})
    return _message(*PAGE_FAILED)


Question = tuple[int, str, tuple[tuple[int, str], ...]]  # number, text, (score, answer text) each


def _wording(scale: Scale) -> tuple[str, str | None, list[Question]] | None:
    """(title, stem, questions) the patient reads: Ketalink's own for PHQ-9 and GAD-7, the clinic's file for
    QIDS-SR16; None when neither has it (only such scales get links: ``create_patient_link``)."""
    instrument = course_service().clinic_instruments.get(scale)
    if instrument is not None:
        return instrument.title, instrument.stem, [
            (n, item.text, tuple((a.score, a.text) for a in item.answers))
            for n, item in enumerate(instrument.items, start=1)]
    if scale in STEMS:
        return TITLES[scale], STEMS[scale], [(n, code.display, FREQUENCY_ANSWERS)
                                             for n, code in enumerate(SCALE_ITEMS[scale], start=1)]
    return None


def _form(token: str, scale: Scale, *, errors: list[tuple[str, str]] | None = None, typed: object = None,
          status: int = 200) -> Response:
    wording = _wording(scale)
    if wording is None:
        return _message(*REFUSALS[LinkState.UNKNOWN])
    title, stem, questions = wording
    return _page("orders/course/patient_questionnaire.html", status, token=token, scale_name=DEFINITIONS[scale].name,
                 title=title, stem=stem, questions=questions,
                 errors=errors or [], field_errors=dict(errors or []), typed=typed or {})


def _message(status: int, heading: str, text: str) -> Response:
    return _page("orders/course/patient_message.html", status, heading=heading, text=text)


def _page(template: str, status: int, **context: object) -> Response:
    settings = course_service().pro_settings
    html = render_template(template, crisis_contacts=settings.crisis_contact_lines, **context)
    return Response(html, status=status, mimetype="text/html", headers={"Cache-Control": "no-store"})


def _allowed() -> bool:
    service = course_service()
    allowed = service.link_page_limiter.allow(client_address(service.pro_settings.client_address_header))
    if not allowed:
        log.warning("patient link pages: rate limit reached")  # no address, no token: nothing about anyone
    return allowed


def client_address(header: str) -> str:
    """Whom the rate limit counts: the last address in ``header`` (what the ingress itself appended; earlier
    entries are the client's to write) when the clinic names one, else the connection's address."""
    forwarded = request.headers.get(header, "") if header else ""
    last = forwarded.rsplit(",", 1)[-1].strip()
    return last or request.remote_addr or "unknown"


def _item_field(field: str) -> str:
    """``score.items[8]`` → the form's ``item-9``."""
    if field.startswith("score.items[") and field.endswith("]"):
        return f"item-{int(field[len('score.items['):-1]) + 1}"
    return "items"


def _patient_words(field: str, message: str) -> str:
    if field.startswith("score.items[") and "missing" in message:
        return "Please choose an answer for this question."
    if field.startswith("score.items["):
        return "Please choose one of the answers offered."
    return "Your answers could not be saved just now. Please send them again."
