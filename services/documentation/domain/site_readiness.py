"""Site readiness (issue 13, safety feature): before a ketamine infusion the clinic confirms, item by item, that it
can rescue a patient — continuous monitoring ready, airway equipment and suction checked, resuscitation drugs at
hand, a clinician trained in airway management present. The list is the clinic's (``site_readiness_items``); each
item is answered yes or no at the pre-infusion check with who and when, and an item not confirmed holds the
infusion (not overridable: the room has to be made ready, then the check repeated)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from services.documentation.domain.checks import require_aware, require_person
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.records import DocumentationRecord
from services.documentation.domain.settings import SessionSettings
from shared.people import Person

# Words for the default items; a clinic's own item key is shown as words ("crash-cart-sealed" → "Crash cart sealed").
ITEM_LABELS = {
    "monitoring-ready": "Continuous monitoring ready (BP, heart rate, SpO2)",
    "airway-equipment-checked": "Airway equipment and suction checked",
    "emergency-drugs-available": "Resuscitation and emergency drugs available",
    "airway-trained-clinician-present": "A clinician trained in airway management present",
}


def item_label(key: str) -> str:
    words = key.replace("-", " ").replace("_", " ").strip()
    return ITEM_LABELS.get(key, words[:1].upper() + words[1:])


@dataclass(frozen=True)
class SiteReadinessItem(DocumentationRecord):
    item: str
    confirmed: bool


@dataclass(frozen=True)
class SiteReadiness(DocumentationRecord):
    """The checklist as answered: every configured item in the clinic's order, who confirmed it and when."""

    items: tuple[SiteReadinessItem, ...]
    confirmed_by: Person
    confirmed_at: datetime

    def __post_init__(self) -> None:
        require_person(self.confirmed_by, "confirmed_by")
        require_aware(self.confirmed_at, "confirmed_at")

    @property
    def not_confirmed(self) -> tuple[str, ...]:
        return tuple(entry.item for entry in self.items if not entry.confirmed)


def site_readiness(answers: Mapping[str, bool], settings: SessionSettings, by: Person, at: datetime) -> SiteReadiness:
    """Every configured item answered (yes or no), no other: a missing or unknown item is a 400 naming it."""
    for key in answers:
        if key not in settings.site_readiness_items:
            raise DocumentationInputError(  # the key as sent, cut short: it is echoed in the OperationOutcome
                f"site_readiness.{key[:64]}",
                f"not an item of this clinic's checklist ({', '.join(settings.site_readiness_items)})")
    items = []
    for key in settings.site_readiness_items:
        answer = answers.get(key)
        if not isinstance(answer, bool):
            raise DocumentationInputError(f"site_readiness.{key}", "answer yes or no")
        items.append(SiteReadinessItem(key, answer))
    return SiteReadiness(tuple(items), by, at)


def readiness_holds(readiness: SiteReadiness | None, settings: SessionSettings) -> tuple[str, ...]:
    """Why the site is not ready: the checklist not done, or each item not confirmed."""
    if not settings.site_readiness_items:
        return ()
    if readiness is None:
        return ("site readiness checklist not confirmed",)
    return tuple(f"site not ready: {item_label(item).lower()} not confirmed" for item in readiness.not_confirmed)
