"""The session page's status strip: what a nurse at the chair must see without scrolling (elapsed time and the
planned end, the next reading due at HH:MM with a countdown, readings missed, CADSS due, open alerts), drawn with
the page and refreshed by the page's script from ``GET /ui/sessions/<id>/status`` (a small JSON answer, polled),
so a reading charted elsewhere (another nurse, a device through the EHR) shows without a reload.

The facts come from the session view (``presenters.session_view``: the domain's due readings, its next reading due
and its CADSS timepoints), never from a second copy of the schedule; this module only words and times them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

from services.documentation.access import IN_SESSION, service
from services.documentation.ui.pages import STATUS_LABELS, as_datetime, clinic_zone, input_time, own_session, ui
from shared.config import app_settings, install_app_settings, load_settings
from shared.smart import requires

STRIP_SETTINGS_KEY = "ketalink.documentation.status_strip"
SETTINGS_PREFIX = "DOCUMENTATION_STATUS_STRIP_"


@dataclass(frozen=True)
class StatusStripSettings:
    """``DOCUMENTATION_STATUS_STRIP_REFRESH_S``: how often the page asks for the strip (seconds). The countdown runs
    each second in the page either way; this is how soon a reading charted elsewhere, or a new alert, shows."""

    refresh_s: int = 15

    def validate(self) -> None:
        if not 5 <= self.refresh_s <= 120:
            raise ValueError("refresh_s must be 5-120 seconds (an alert must not wait longer than two minutes)")


def install_status_strip(app: Flask, settings: StatusStripSettings | None = None) -> StatusStripSettings:
    """Load ``DOCUMENTATION_STATUS_STRIP_*`` at start-up (a bad value stops the process naming it)."""
    return install_app_settings(app, StatusStripSettings, SETTINGS_PREFIX, STRIP_SETTINGS_KEY, settings)


def status_strip_settings() -> StatusStripSettings:
    return app_settings(STRIP_SETTINGS_KEY, lambda: load_settings(StatusStripSettings, SETTINGS_PREFIX))


def strip_view(view: dict[str, Any], zone: ZoneInfo, min_recovery_observation_min: int) -> dict[str, Any]:
    """The strip's facts at the view's ``as_of``: times as the clinic's 24-hour HH:MM, durations in whole minutes,
    the seconds to the next reading (negative once it is due) for the page's countdown."""
    now = as_datetime(view["as_of"])
    assert now is not None
    status = view["status"]
    started = as_datetime(view["summary"]["infusion_started_at"])
    ended = next((as_datetime(t["at"]) for t in view["transitions"] if t["from_status"] == "infusing"), None)
    elapsed_label, planned_end_label, planned_end = "", "", None
    if status == "infusing" and started:
        elapsed_label = f"Infusing for {_minutes(now - started)} min"
        planned_end = started + timedelta(minutes=view["order"]["duration_min"])
        planned_end_label = "Planned end"
    elif status == "recovering" and ended:
        elapsed_label = f"In recovery for {_minutes(now - ended)} min"
        planned_end = ended + timedelta(minutes=min_recovery_observation_min)
        planned_end_label = "Discharge from"
    next_due = as_datetime(view.get("next_reading_due"))
    missed = [due for due in view["due_readings"] if due["state"] == "missed"]
    return {
        "session_id": view["session_id"],
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "as_of": view["as_of"],
        "as_of_clock": now.astimezone(zone).strftime("%H:%M:%S"),
        "elapsed_label": elapsed_label,
        "planned_end_label": planned_end_label,
        "planned_end": _clock(planned_end, zone),
        "next_reading_due": _clock(next_due, zone),
        "next_reading_in_s": int((next_due - now).total_seconds()) if next_due else None,
        "readings_missed": len(missed),
        "last_missed": _clock(as_datetime(missed[-1]["due_at"]), zone) if missed else "",
        "cadss_due": [due["label"] for due in view["due_cadss"]] if status in ("infusing", "recovering") else [],
        "open_alerts": len(view["open_alert_ids"]),
        "readings": len(view["readings"]),
        "version": _version(view),
    }


def countdown_text(seconds: int | None) -> str:
    """``in 7 min`` / ``due now`` / ``4 min overdue``: the same words the page's script writes each second."""
    if seconds is None:
        return ""
    if seconds > 0:
        return f"in {(seconds + 59) // 60} min"
    overdue = -seconds // 60
    return "due now" if overdue < 1 else f"due now, {overdue} min overdue"


def _minutes(delta: timedelta) -> int:
    return max(int(delta.total_seconds() // 60), 0)


def _clock(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M") if moment else ""


def _version(view: dict[str, Any]) -> str:
    """What changes when anything is charted on the session: the page offers a reload when it differs from the
    version it was drawn with (its forms and table would be stale)."""
    return ":".join(str(part) for part in (
        view["status"], len(view["readings"]), len(view["alerts"]), len(view["open_alert_ids"]),
        len(view["transitions"]), len(view["cadss"]), len(view["events"]), len(view["pump_changes"])))


@ui.get("/ui/sessions/<session_id>/status")
@requires("Encounter", "r", **IN_SESSION)
def session_status(session_id: str) -> ResponseReturnValue:
    """The strip's facts as JSON (the launch's patient's session only, like the page)."""
    view = own_session(session_id)
    strip = strip_view(view, clinic_zone(), service().settings.min_recovery_observation_min)
    return jsonify({**strip, "countdown": countdown_text(strip["next_reading_in_s"]),
                    "now_input": input_time(view["as_of"])})
