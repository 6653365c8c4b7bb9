"""The CDS Hooks service layer: a verified caller and a hook request in, the cards out; feedback in, stored and
audited. Flask-free, so the views stay glue (``views.py``)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from shared.clock import utcnow
from services.orders.cds_hooks.auth import CdsCaller, CdsTokenVerifier
from services.orders.cds_hooks.cards import Hook, cards_for
from services.orders.cds_hooks.context import CardSettings
from services.orders.cds_hooks.discovery import HOOK_OF_SERVICE
from services.orders.cds_hooks.facts import OpenAlerts, ketamine_drafts, patient_context
from services.orders.cds_hooks.feedback import attribute, read_feedback
from services.orders.cds_hooks.prefetch import resolve_prefetch, trusted_fhir_server
from services.orders.cds_hooks.request import read_hook_request
from services.orders.cds_hooks.settings import CdsHooksSettings
from services.orders.cds_hooks.store import CdsStore, IssuedCard
from services.orders.handlers import OrdersService

log = logging.getLogger(__name__)


@dataclass
class CdsHooksService:
    settings: CdsHooksSettings
    verifier: CdsTokenVerifier
    store: CdsStore
    orders: OrdersService
    open_alerts: OpenAlerts
    card_settings: CardSettings
    ehr_base_url: str  # EHR_FHIR_BASE_URL: the fhirServer a caller may name when its iss lists none

    def authenticate(self, authorization: str | None, audience: str) -> CdsCaller:
        return self.verifier.verify(authorization, audience, self.store.seen_jti)

    def answer_hook(self, service_id: str, caller: CdsCaller, body: Any, launch_url: str) -> dict[str, Any]:
        hook = HOOK_OF_SERVICE[service_id]
        request = read_hook_request(body, hook)
        fhir_server = trusted_fhir_server(request, caller.ehr.fhir_servers or (self.ehr_base_url.rstrip("/"),))
        resources = resolve_prefetch(request, fhir_server, self.settings.http_timeout_s)
        draft_ids = frozenset(str(d["id"]) for d in request.draft_orders if d.get("id"))
        context = patient_context(request.patient_id, resources, self.orders, self.open_alerts, utcnow(), draft_ids)
        settings = replace(self.card_settings, app_launch_url=launch_url)
        drafts = ketamine_drafts(request.draft_orders, request.selections)
        cards = [card.json() for draft in drafts for card in cards_for(draft, context, settings, Hook(hook))]
        # After the replay check's own write (a replay must be refused before any work), so a second transaction.
        self.store.record_cards([IssuedCard(card["uuid"], service_id, caller.iss, request.user_id, request.patient_id,
                                            request.hook_instance) for card in cards])
        log.info("CDS hook answered", extra={"service_id": service_id, "hook_instance": request.hook_instance,
                                             "patient_id": request.patient_id, "iss": caller.iss,
                                             "drafts": len(drafts), "cards": len(cards)})
        return {"cards": cards}

    def record_feedback(self, service_id: str, caller: CdsCaller, body: Any) -> int:
        items = read_feedback(body)
        issued = self.store.issued_cards([item.card_uuid for item in items])
        attribute(items, issued, service_id, caller.iss)
        stored = self.store.record_feedback(service_id, items, issued, iss=caller.iss)
        log.info("CDS feedback recorded", extra={"service_id": service_id, "iss": caller.iss, "client": caller.sub,
                                                 "items": len(items), "stored": stored,
                                                 "outcomes": sorted({item.outcome for item in items})})
        return stored
