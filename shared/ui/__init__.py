"""The clinician UI kit every service's pages use: one base layout (skip link, landmarks, focus styles, colours
that meet WCAG AA contrast), the patient banner, the error summary and the stylesheet; the signed-in clinician
(launch context, the EHR as that clinician, their name) and the guard on every form post. Server-rendered, no build
step. A service registers it with ``install_ui(app, title)``, calls ``guard_form_posts(blueprint)`` on its pages'
blueprint and extends ``ui/base.html``."""
from __future__ import annotations

from flask import Blueprint, Flask

from shared.ui.banner import PatientBanner, install_banner, load_patient_banner, medical_record_number, patient_banner
from shared.ui.clinician import (
    check_same_patient, clinician_name, ehr_as_clinician, fhir_user_reference, in_launch_context, launch_context,
)
from shared.ui.ehr_status import install_ehr_status
from shared.ui.forms import CSRF_FIELD, check_form_post, csrf_input, form_token, guard_form_posts

ui_kit = Blueprint("ui_kit", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/ui-static")


def install_ui(app: Flask, app_title: str) -> None:
    """Register the shared templates and stylesheet; ``app_title`` names the app in every page header. Every
    template can write a form's hidden token field with ``{{ csrf_input() }}`` and a field's element id with
    ``path|field_id``."""
    from shared.roles import ATTESTATIONS, install_roles  # here, not at import: it imports shared.ui.clinician

    app.register_blueprint(ui_kit)
    install_roles(app)  # KETALINK_PRESCRIBER_* checked at start-up, like every setting
    install_banner(app)  # KETALINK_MRN_IDENTIFIER_SYSTEM
    install_ehr_status(app)  # KETALINK_EHR_ANSWER_WAIT_S, KETALINK_EHR_STATUS_PEERS
    app.jinja_env.globals.setdefault("attestations", ATTESTATIONS)  # ui/attestation.html: the statements signed
    app.jinja_env.globals.setdefault("ui_app_title", app_title)
    app.jinja_env.globals.setdefault("csrf_input", csrf_input)
    app.jinja_env.filters.setdefault("field_id", field_id)


def field_id(path: str) -> str:
    """The element id of a form field named by its path (``trials[1].drug_name`` → ``trials-1-drug_name``): the
    id the error summary links to."""
    return path.replace(".", "-").replace("[", "-").replace("]", "")


__all__ = [
    "CSRF_FIELD", "PatientBanner", "check_form_post", "check_same_patient", "clinician_name", "csrf_input",
    "ehr_as_clinician", "fhir_user_reference", "field_id", "form_token", "guard_form_posts", "in_launch_context", "install_ui",
    "launch_context", "load_patient_banner", "medical_record_number", "patient_banner",
]
