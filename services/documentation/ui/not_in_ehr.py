"""Documentation's part of the clinic's "not in the EHR" list: ``GET /ui/not-in-ehr``, every session or note
message the EHR refused, is retrying, or has not answered for too long, linking to its session or note and to the
other services' lists. Another patient's rows show ids and statuses only (``shared/ui/ehr_status.py``)."""
from __future__ import annotations

from flask.typing import ResponseReturnValue

from services.documentation.access import service
from services.documentation.presenters import NOT_IN_EHR_TYPES, ehr_record_link
from services.documentation.ui.pages import ui
from shared.smart import requires
from shared.ui import clinician_name, in_launch_context, launch_context
from shared.ui.ehr_status import (
    LIST_PAGE_PATH, RESOURCE, ehr_status_settings, outstanding_view, render_not_in_ehr,
)


@ui.get(LIST_PAGE_PATH)
@requires(RESOURCE, "r", patient=in_launch_context)
def not_in_ehr() -> ResponseReturnValue:
    view = outstanding_view(service().not_in_ehr(ehr_status_settings()), NOT_IN_EHR_TYPES, ehr_record_link)
    return render_not_in_ehr(view, "Documentation", clinician_name(launch_context()))
