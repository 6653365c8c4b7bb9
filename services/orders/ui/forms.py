"""The forms of the orders pages. The order-entry form: posted fields → the same request models (and so the same
commands) as the JSON API, with each problem named by the field it belongs to. Only shape is checked here; the dose
and schedule rules are the domain's, whose errors the page shows next to the same fields. The order page's action
forms name their fields ``<action>-reason`` and ``<action>-by``."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from werkzeug.datastructures import MultiDict

from services.orders.commands import CreateOrder, PreviewDose
from services.orders.domain.settings import ProtocolSettings
from services.orders.commands import CreateOrderBody, DosePreviewBody
from shared.people import Person

# Form field names; the ids on the page are the same (the error summary links to them).
ORDER_FIELDS = ("mg_per_kg", "duration_min", "weight_basis", "start_date", "infusions_per_week", "infusion_count",
                "override_reason", "override_authorised_by", "created_by")
# Where a body or domain field shows on the page.
FIELD_ON_PAGE = {"override.reason": "override_reason", "override.authorised_by": "override_authorised_by",
                 "override": "override_reason"}
_FRIENDLY = {
    "float_parsing": "enter a number", "float_type": "enter a number",
    "int_parsing": "enter a whole number", "int_from_float": "enter a whole number", "int_type": "enter a whole number",
    "date_parsing": "enter a date (YYYY-MM-DD)", "date_from_datetime_parsing": "enter a date (YYYY-MM-DD)",
    "date_type": "enter a date (YYYY-MM-DD)", "enum": "choose one of the options", "string_too_short": "required",
    "missing": "required", "finite_number": "enter a number",
}


@dataclass
class OrderForm:
    """What the clinician typed, kept as text so the page shows it back unchanged after a refusal."""

    values: dict[str, str]
    errors: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def defaults(cls, settings: ProtocolSettings, today: date) -> OrderForm:
        return cls({
            "mg_per_kg": f"{settings.default_dose_mg_per_kg:g}", "duration_min": str(settings.default_duration_min),
            "weight_basis": settings.weight_basis.value, "start_date": today.isoformat(),
            "infusions_per_week": str(settings.induction_infusions_per_week),
            "infusion_count": str(settings.induction_infusion_count),
            "override_reason": "", "override_authorised_by": "", "created_by": ""})

    @classmethod
    def posted(cls, form: MultiDict[str, str]) -> OrderForm:
        return cls({name: form.get(name, "").strip() for name in ORDER_FIELDS})

    def preview_command(self, patient_id: str, actor: Person | None) -> PreviewDose | None:
        """``actor``: the signed-in clinician, who authorises an override (None without one)."""
        body = self._validated(DosePreviewBody, {"patient_id": patient_id, **self._dose_fields()})
        return None if body is None else body.to_command(actor)

    def create_command(self, patient_id: str, actor: Person) -> CreateOrder | None:
        """``actor``: the signed-in clinician (``shared.roles.acting_person``), who creates the order; a name typed
        in the form is never who is recorded."""
        data = {"patient_id": patient_id, **self._dose_fields()}
        for name in ("start_date", "infusions_per_week", "infusion_count"):
            if self.values[name]:
                data[name] = self.values[name]
        if not self.values["start_date"]:
            self.errors.append(("start_date", "required"))
        body = self._validated(CreateOrderBody, data)
        return None if body is None or self.errors else body.to_command(actor)

    def _dose_fields(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: self.values[name] for name in ("mg_per_kg", "duration_min", "weight_basis")
                                if self.values[name]}
        reason, authorised_by = self.values["override_reason"], self.values["override_authorised_by"]
        if reason or authorised_by:
            data["override"] = {"reason": reason}
        return data

    def _validated(self, model: type[Any], data: dict[str, Any]) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            for problem in error.errors(include_url=False):
                path = ".".join(str(part) for part in problem["loc"])
                self.errors.append((page_field(path), _FRIENDLY.get(problem["type"], problem["msg"])))
            return None


def page_field(path: str) -> str:
    """The page's field for a body/domain field path; itself when the page has it, else "" (no link)."""
    if path in FIELD_ON_PAGE:
        return FIELD_ON_PAGE[path]
    return path if path in ORDER_FIELDS else ""


def action_field(action: str, where: str) -> str:
    """Field ids on the order page: ``<action>-reason``, ``<action>-by``."""
    if where == "reason":
        return f"{action}-reason"
    if where in ("signed_by", "changed_by"):
        return f"{action}-by"
    return ""
