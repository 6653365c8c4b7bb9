"""The clinician's pages for the infusion session, opened from the patient's chart in the EHR (SMART launch), one
module per screen: the patient's sessions (``home``), the session flowsheet with each step's form (``session``) and
its status strip (``status_strip``), the pre-infusion check (``pre_check``), CADSS (``cadss``), adverse events
(``adverse_event``), the administration record
(``administration``), the controlled-substance record (``controlled_substance``), discharge (``discharge``), the
procedure note (``note``) and the service's part of the clinic's "not in the EHR" list (``not_in_ehr``); ``pages``
holds what they share, ``forms`` reads the posted forms.

Server-rendered (Flask templates extending the shared ``ui/base.html``); every post becomes the same request model
the JSON API takes and goes to the same service-layer function (``handlers.DocumentationService``), so the rules and
their messages are the API's. The pages work on the patient in the SMART context only: a session or note of
another patient is refused. Posts carry a per-session CSRF token and must come from this app's own pages (the UI
kit's guard, ``shared.ui.forms``)."""
from __future__ import annotations

from services.documentation.ui import (  # each screen's views register on the blueprint when imported
    administration, adverse_event, cadss, controlled_substance, discharge, home, not_in_ehr, note, pre_check, session,
    status_strip,
)
from services.documentation.ui.pages import UI_SETTINGS_KEY, UI_TITLE, UiSettings, ui

__all__ = ["UI_SETTINGS_KEY", "UI_TITLE", "UiSettings", "ui", "administration", "adverse_event", "cadss",
           "controlled_substance", "discharge", "home", "not_in_ehr", "note", "pre_check", "session", "status_strip"]
