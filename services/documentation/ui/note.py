"""The procedure note page: the preview before a note exists, the draft to edit and sign (a prescriber, attesting
it), and the amendment of a signed note."""
from __future__ import annotations

from typing import Any

from flask import Response, redirect, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.utils import secure_filename

from services.documentation import commands as c
from services.documentation.access import IN_SESSION, OF_NOTE, service
from services.documentation.messages import NOTE_KIND
from services.documentation.presenters import note_preview_view, note_views, with_ehr_status
from services.documentation.ui.forms import FormInvalid, outcome_as_form_errors, submit
from services.documentation.ui.pages import ENDED, clinician, done, own_note, own_session, page, posted_form, ui
from shared.roles import require_prescriber
from shared.pdf import PDF_CONTENT_TYPE
from shared.smart import SmartAuthError, requires
from shared.ui import launch_context


def note_page(session_id: str, status: int = 200, errors: list[tuple[str, str]] | None = None,
              values: Any = None) -> tuple[str, int]:
    view = own_session(session_id)
    versions = service().notes(session_id)
    statuses = service().ehr_statuses(NOTE_KIND, [note.note_id for note in versions])
    notes = [with_ehr_status(note, statuses[note["note_id"]]) for note in note_views(versions)]
    latest = notes[-1] if notes else None
    preview = None if latest else note_preview_view(service().preview_note(session_id))
    return page("documentation/note.html", status, errors=errors, values=values, session=view, notes=notes,
                latest=latest, preview=preview, can_draft=view["status"] in ENDED)


@ui.get("/ui/notes/<note_id>")
@requires("DocumentReference", "r", **OF_NOTE)
def note_by_id(note_id: str) -> ResponseReturnValue:
    """A note by its id (the "not in the EHR" list links it): its session's note page."""
    return redirect(url_for(".note", session_id=own_note(note_id).session_id), code=303)


@ui.get("/ui/notes/<note_id>/note.pdf")
@requires("DocumentReference", "r", **OF_NOTE)
def note_pdf(note_id: str) -> ResponseReturnValue:
    """The signed note's PDF as it was made at signing (the bytes the EHR received); a draft has none (409)."""
    note = own_note(note_id)
    pdf = service().note_pdf(note_id) if note.is_signed else None
    if pdf is None:
        raise SmartAuthError(409, "Only a signed note is printed as a PDF: this version is a draft (or was signed "
                                  "before PDFs were made). Print the page instead: it is marked DRAFT.",
                             title="No PDF for this note")
    filename = f"procedure-note-{note.note_id}-v{note.version}.pdf".replace("/", "-")
    return Response(pdf.data, mimetype=PDF_CONTENT_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{secure_filename(filename)}"',
        "Cache-Control": "no-store"})


@ui.get("/ui/sessions/<session_id>/note")
@requires("DocumentReference", "r", **IN_SESSION)
def note(session_id: str) -> ResponseReturnValue:
    return note_page(session_id)


@ui.post("/ui/sessions/<session_id>/note")
@requires("DocumentReference", "c", **IN_SESSION)
def draft_note(session_id: str) -> ResponseReturnValue:
    own_session(session_id)
    form = posted_form()
    try:
        with outcome_as_form_errors():
            submit(lambda body: service().draft_note(session_id, body), c.DraftNote,
                   {"by": clinician(), "at": form.time("at")})
    except FormInvalid as error:
        return note_page(session_id, error.status, error.issues)
    return done(".note", "note-drafted", "note", session_id=session_id)


@ui.post("/ui/notes/<note_id>")
@requires("DocumentReference", "u", **OF_NOTE)
def save_or_sign_note(note_id: str) -> ResponseReturnValue:
    """The draft's text is saved (when changed) and, with the sign button, signed as shown."""
    current = own_note(note_id)
    form = posted_form()
    text = form.multiline("text")
    signing = form.text("action") == "sign"
    if signing:  # only a prescriber signs (403 page otherwise), ticking the attestation
        require_prescriber(launch_context(), "sign a note")
        if form.text("attested") != "yes":
            return note_page(current.session_id, 400, [("attested", "tick the attestation to sign")], request.form)
    try:
        with outcome_as_form_errors():
            if text.strip() != current.text.strip():
                submit(lambda body: service().edit_note(note_id, body), c.EditNote, {"text": text})
            if signing:
                submit(lambda body: service().sign_note(note_id, body), c.SignNote,
                       {"by": clinician(), "at": form.time("at"), "attested": True})
    except FormInvalid as error:
        return note_page(current.session_id, error.status, error.issues, request.form)
    return done(".note", "note-signed" if signing else "note-saved", "note", session_id=current.session_id)


@ui.post("/ui/notes/<note_id>/amend")
@requires("DocumentReference", "c", **OF_NOTE)
def amend_note(note_id: str) -> ResponseReturnValue:
    current = own_note(note_id)
    form = posted_form()
    try:
        with outcome_as_form_errors():
            submit(lambda body: service().amend_note(note_id, body), c.AmendNote,
                   {"by": clinician(), "at": form.time("at"), "text": form.multiline("text")})
    except FormInvalid as error:
        return note_page(current.session_id, error.status, error.issues, request.form)
    return done(".note", "note-amended", "note", session_id=current.session_id)
