"""The clinician UI kit every service's pages use: one base layout (skip link, landmarks, focus styles, colours
that meet WCAG AA contrast), the patient banner, form error summaries, and the stylesheet. Server-rendered, no build
step. A service registers it with ``install_ui(app)`` and extends ``ui/base.html``."""
from __future__ import annotations

from flask import Blueprint, Flask

from shared.ui.banner import PatientBanner, load_patient_banner

ui_kit = Blueprint("ui_kit", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/ui-static")


def install_ui(app: Flask, app_title: str) -> None:
    """Register the shared templates and stylesheet; ``app_title`` names the app in every page header."""
    app.register_blueprint(ui_kit)
    app.jinja_env.globals.setdefault("ui_app_title", app_title)


__all__ = ["install_ui", "PatientBanner", "load_patient_banner"]
