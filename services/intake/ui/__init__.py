"""The intake's clinician pages (server-rendered; opened from the EHR chart as a SMART app), one module per screen:

- ``home``: ``GET /``, the patient in context: banner (with the eligibility of the latest decision), their intakes,
  "start" (``POST /ui/intakes``: an intake for that patient, pre-filled from the EHR).
- ``intake_page``: ``GET /ui/intakes/<id>``, one form per part, what is still missing, overrides, "decide";
  ``POST /ui/intakes/<id>/<part>`` records a part (trials, contraindications, vitals, phq9, madrs, cssrs, consent,
  overrides, cssrs_review, urgent_use).
- ``decision``: ``GET /ui/intakes/<id>/decision``, the outcome with every reason; ``POST .../decision`` and
  ``.../reopen``.
- ``not_in_ehr``: ``GET /ui/not-in-ehr``, the intake's part of the clinic's "not in the EHR" list.

``pages`` holds the blueprint and what every page shares; ``forms`` parses the posted forms (and fills them from
the stored intake). Views call the same service-layer functions as the API, for the patient of the launch only (an
intake of another patient is refused). A refused form is shown again as typed, with the domain's message next to
the field and in the error summary; nothing is saved. Every post is checked against cross-site forgery
(``shared.ui.forms``).
"""
from services.intake.ui import decision, home, intake_page, not_in_ehr  # noqa: F401 - importing a screen registers its views
from services.intake.ui.pages import blueprint

__all__ = ["blueprint"]
