"""The infusion suite board: the clinic day's sessions across patients on one page (a wall screen or a nurse's
tablet), refreshing itself by short polling of a server-rendered fragment (no connection held open, works behind
any proxy), and the same rows as JSON.

Who may see it. The board spans patients, so a launch from one patient's chart (patient-bound) is refused it
(``@requires`` without a patient source, ``shared/smart/access.py``): that session reaches its own patient only,
and its pages stay as they are. A launch without a patient (the EHR's user-level launch, or the standalone launch
with user-level scopes) needs ``user/Encounter.rs`` from the EHR and a role the clinic names for the board
(``DOCUMENTATION_BOARD_ROLE_CODES``, the user's ``PractitionerRole.code`` as for the prescriber check) or a token
scope granted for it (``DOCUMENTATION_BOARD_SCOPES``). Opening a row goes to ``/ui/sessions/<id>`` (an id only, no
PHI in the URL): that page works on the session's own patient and shows that patient's banner.

Names are PHI: read from the EHR with the viewer's own token (so the EHR decides), shown as initials unless the
clinic sets full names (a wall screen is seen by patients and visitors), kept in memory for a few minutes, never
logged; every answer is ``no-store``."""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, make_response, render_template
from flask.typing import ResponseReturnValue

from services.documentation.access import service
from services.documentation.domain.board import STATE_LABELS, BoardRow
from services.documentation.handlers.board import Board
from services.documentation.ui.pages import clinic_time, page, ui
from shared.config import app_settings, install_app_settings, load_settings
from shared.ehr_delivery.views import record_status_json
from shared.fhir.client import FhirError, FhirUnavailable
from shared.roles import PRACTITIONER_ROLE_SYSTEM, SNOMED, missing_scope_and_role
from shared.smart import SmartAuthError, SmartContext, current_context, guarded_by, requires
from shared.ui import ehr_as_clinician

BOARD_SETTINGS_KEY = "ketalink.documentation.board"
SETTINGS_PREFIX = "DOCUMENTATION_BOARD_"
DEFAULT_ROLE_CODES = (f"{PRACTITIONER_ROLE_SYSTEM}|nurse", f"{PRACTITIONER_ROLE_SYSTEM}|doctor",
                      f"{SNOMED}|224535009", f"{SNOMED}|309343006", f"{SNOMED}|224571005")  # RN, physician, NP
NAME_MODES = ("initials", "full")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True)
class BoardSettings:
    """``DOCUMENTATION_BOARD_*``: who may see the board (role codes ``system|code``, or token scopes), how often the
    page asks again (seconds), and how names are shown (``initials`` or ``full``)."""

    role_codes: tuple[str, ...] = DEFAULT_ROLE_CODES
    scopes: tuple[str, ...] = ()
    refresh_s: int = 15
    patient_names: str = "initials"

    def validate(self) -> None:
        for code in self.role_codes:
            system, bar, value = code.partition("|")
            if not bar or not system.startswith(("http://", "https://", "urn:")) or not value or "|" in value:
                raise ValueError(f"role_codes: {code!r} is not system|code (system an http(s) or urn URI)")
        if not self.role_codes and not self.scopes:
            raise ValueError("role_codes and scopes are both empty: nobody could open the board")
        for scope in self.scopes:
            if not scope or any(ch.isspace() for ch in scope):
                raise ValueError(f"scopes: {scope!r} is not a scope")
        if not 5 <= self.refresh_s <= 300:
            raise ValueError("refresh_s must be 5-300 seconds")
        if self.patient_names not in NAME_MODES:
            raise ValueError(f"patient_names must be one of {', '.join(NAME_MODES)}")


def install_board(app: Flask, settings: BoardSettings | None = None) -> BoardSettings:
    """Load ``DOCUMENTATION_BOARD_*`` at start-up (a bad value stops the process naming it)."""
    return install_app_settings(app, BoardSettings, SETTINGS_PREFIX, BOARD_SETTINGS_KEY, settings)


def board_settings() -> BoardSettings:
    return app_settings(BOARD_SETTINGS_KEY, lambda: load_settings(BoardSettings, SETTINGS_PREFIX))


def board_viewer(context: SmartContext | None) -> None:
    """``@guarded_by``: a board role from the EHR or a board scope in the token; nobody to check where SMART is off."""
    if context is None:
        return
    settings = board_settings()
    roles = missing_scope_and_role(context, settings.scopes, settings.role_codes)
    if roles is not None:
        raise SmartAuthError(403, "The suite board shows every patient of the clinic day: it needs a role the clinic "
                                  "names for it (DOCUMENTATION_BOARD_ROLE_CODES) or a token scope granted for it "
                                  f"(DOCUMENTATION_BOARD_SCOPES). The EHR gives you: {roles.describe()}.",
                             oauth_error="insufficient_scope", title="Suite board role needed",
                             page="not-board-viewer")


# --- views ---------------------------------------------------------------------------------------------------------
@ui.get("/ui/board")
@requires("Encounter", "s")
@guarded_by(board_viewer)
def board_page() -> ResponseReturnValue:
    html, status = page("documentation/board.html", **_board_variables())
    return _no_store(make_response(html, status))


@ui.get("/ui/board/rows")
@requires("Encounter", "s")
@guarded_by(board_viewer)
def board_rows_fragment() -> ResponseReturnValue:
    """The table's rows alone, for the page's refresh (``X-Board-Updated``: when they were read, clinic time)."""
    variables = _board_variables()
    response = make_response(render_template("documentation/_board_rows.html", **variables))
    response.headers["X-Board-Updated"] = variables["as_of_text"]
    return _no_store(response)


@ui.get("/ui/board.json")
@requires("Encounter", "s")
@guarded_by(board_viewer)
def board_json() -> ResponseReturnValue:
    board = service().board()
    names = _names_for(board.rows)
    return _no_store(make_response({
        "day": board.day.isoformat(), "as_of": board.as_of.isoformat(), "refresh_s": board_settings().refresh_s,
        "rows": [{**row.to_dict(), "patient": names.get(row.patient_id),
                  "ehr_status": _ehr_status(board, row.session_id)} for row in board.rows]}))


def _board_variables() -> dict[str, Any]:
    board = service().board()
    names = _names_for(board.rows)
    rows = [{**row.to_dict(), "patient": names.get(row.patient_id), "ehr_status": _ehr_status(board, row.session_id)}
            for row in board.rows]
    return {"board": board, "rows": rows, "refresh_s": board_settings().refresh_s, "state_labels": STATE_LABELS,
            "as_of_text": clinic_time(board.as_of, "%H:%M:%S"), "day_text": board.day.isoformat()}


EHR_LABELS = {"not-sent": "not sent yet", "sent": "sent, no answer yet", "applied": "in the EHR",
              "retrying": "NOT in the EHR yet: retrying", "refused": "REFUSED by the EHR"}  # short, for the board


def _ehr_status(board: Board, session_id: str) -> dict[str, str]:
    """The session's EHR status in a few words (the session page gives the reasons and what to do)."""
    status = board.ehr_statuses.get(session_id)
    code = record_status_json(status)["status"] if status is not None else "not-sent"
    return {"status": code, "label": EHR_LABELS.get(code, code)}


def _no_store(response: Response) -> Response:
    response.headers.update(NO_STORE)
    return response


# --- names (PHI: the viewer's own EHR access, initials by default) ---------------------------------------------------
def patient_label(patient: dict[str, Any], mode: str) -> str | None:
    """``Jordan A. Lee`` in full, or its initials ``J. L.`` (first given name and family name)."""
    names = patient.get("name") or []
    name = next((n for n in names if isinstance(n, dict) and n.get("use") == "official"),
                names[0] if names and isinstance(names[0], dict) else None)
    if not name:
        return None
    given = [part for part in name.get("given") or [] if isinstance(part, str) and part.strip()]
    family = name.get("family") if isinstance(name.get("family"), str) else ""
    if mode == "full":
        return name.get("text") or " ".join([*given, family]).strip() or None
    letters = [word.strip()[0].upper() for word in (given[:1] + [family]) if word and word.strip()]
    return " ".join(f"{letter}." for letter in letters) or None


class _NameCache:
    """Labels per SMART session (per token for bearer calls) and patient, for ``KEEP_S``; a failed read for less."""

    KEEP_S, FAILED_S, MAX_KEPT = 300.0, 30.0, 2000

    def __init__(self) -> None:
        self._labels: dict[tuple[str, str, str], tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def label(self, context: SmartContext, patient_id: str, mode: str) -> str | None:
        viewer = context.session_hash or hashlib.sha256(context.access_token.encode()).hexdigest()
        key, now = (viewer, patient_id, mode), time.monotonic()
        with self._lock:
            kept = self._labels.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        try:
            label, keep = patient_label(ehr_as_clinician(context).read("Patient", patient_id), mode), self.KEEP_S
        except (FhirError, FhirUnavailable):
            label, keep = None, self.FAILED_S
        with self._lock:
            if len(self._labels) >= self.MAX_KEPT:
                self._labels.clear()
            self._labels[key] = (now + keep, label)
        return label


_names = _NameCache()


def _names_for(rows: list[BoardRow]) -> dict[str, str | None]:
    context = current_context()
    if context is None:  # SMART off (local runs): no viewer's token to read names with
        return {}
    mode = board_settings().patient_names
    return {patient_id: _names.label(context, patient_id, mode) for patient_id in {row.patient_id for row in rows}}
