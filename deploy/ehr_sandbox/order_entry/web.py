"""Order entry pages on the sandbox's chart (signed-in prescribers only; every form carries the chart's CSRF token):

- ``GET|POST /chart/order/<patient>`` - the order form; composing calls ``order-select`` with the draft
- ``POST /chart/order/entry/<id>/sign`` - ``order-sign`` with the draft; its cards decide whether it can be placed
- ``POST /chart/order/entry/<id>/suggestion`` - accept a card's suggestion: the draft becomes the suggestion's
  resource, the acceptance is sent as feedback, and ``order-sign`` runs again
- ``POST /chart/order/entry/<id>/place`` - every critical card overridden with one of its ``overrideReasons`` (else
  nothing is placed), the overrides sent as feedback, then the order placed (``placement.py``) and the browser sent
  to the entry's page
- ``GET /chart/order/entry/<id>`` - the entry as it stands (after a reload or a restart too); once placed, the
  orders service's answer to it (``answers.py``) when it has arrived
- ``GET /chart/order/entry/<id>/answer`` - ``{"status": ...}`` of that answer, which the page polls while waiting
- ``POST /chart/order/entry/<id>/withdraw`` - a placed order the orders service refused is discontinued in the EHR
  (status ``cancelled``): it stays active there until the prescriber does so
- ``GET /smart/cds-client-jwks`` - the public key the sandbox signs its CDS Hooks calls with
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, jsonify, redirect, render_template, request, url_for

from deploy.ehr_sandbox.order_entry.answers import answer_view
from deploy.ehr_sandbox.order_entry.card_markdown import render_detail
from deploy.ehr_sandbox.order_entry.cds_client import CdsCallError, CdsClient
from deploy.ehr_sandbox.order_entry.draft import REASONS, FormError, OrderForm, draft_order
from deploy.ehr_sandbox.order_entry.entries import Entries, OrderEntry
from deploy.ehr_sandbox.order_entry.placement import OrderPlacer
from deploy.ehr_sandbox.order_entry.settings import CDS_CLIENT_JWKS_PATH, OrderEntrySettings
from deploy.ehr_sandbox.smart.directory import Directory
from deploy.ehr_sandbox.smart.settings import DemoUser

log = logging.getLogger("ehr_sandbox.order_entry")
#: What the draft may be replaced with: a suggestion's ``update``/``create`` of a MedicationRequest.
SUGGESTION_ACTIONS = ("update", "create")


def install(app: Flask, settings: OrderEntrySettings, client: CdsClient, placer: OrderPlacer, entries: Entries,
            directory: Directory, signed_in: Callable[[], DemoUser | None], csrf: Callable[[], str],
            check_csrf: Callable[[], None], app_launch_urls: dict[str, str]) -> None:
    """``app_launch_urls``: the registered SMART apps' launch URLs by client id (a card's SMART link is launched
    as the registered app at the same origin, from the chart, with a launch id for the patient)."""
    app.jinja_env.filters["card_detail"] = render_detail

    def prescriber() -> DemoUser:
        user = signed_in()
        if user is None:
            abort(401, "sign in to the EHR first")
        if not settings.may_order(user.role_codes):
            abort(403, "only prescribers enter medication orders")
        return user

    def user_reference(user: DemoUser) -> str:
        return "/".join(directory.practitioner_url(user).rsplit("/", 2)[-2:])

    def entry_of(entry_id: str, user: DemoUser, placed_too: bool = False) -> OrderEntry:
        entry = entries.get(entry_id, user.username)
        if entry is None:
            abort(404, "this order entry has expired; compose the order again")
        if entry.placed_message_id and not placed_too:
            abort(409, "this order has been placed")
        return entry

    def page(entry: OrderEntry, user: DemoUser, error: str | None = None, status: int = 200) -> Any:
        patient = directory.patient(entry.patient_id)
        answer = answer_view(entries.answer(entry.placed_message_id)) if entry.placed_message_id else None
        return render_template("order_review.html", entry=entry, patient=patient, user=user, csrf=csrf(),
                               error=error, dosage=entry.draft["dosageInstruction"][0].get("text", ""),
                               smart_apps=_smart_apps(entry.cards, app_launch_urls), answer=answer), status

    def run_hook(entry: OrderEntry, user: DemoUser, hook: str) -> str | None:
        """Ask the CDS service; an error message when it could not be asked (the entry keeps no cards then)."""
        try:
            entry.service_id, answer = client.call(hook, entry.patient_id, user_reference(user),
                                                   entry.encounter_id, entry.draft)
        except CdsCallError as error:
            entry.hook, entry.cards = "", []
            return f"Decision support could not check the order: {error}"
        entry.hook = hook
        entry.cards = [card for card in answer.get("cards", []) if isinstance(card, dict)]
        return None

    def checked(entry: OrderEntry, user: DemoUser, hook: str) -> Any:
        """Run ``hook``, keep what it gave, show the entry."""
        error = run_hook(entry, user, hook)
        entries.save(entry)
        return page(entry, user, error)

    def send_feedback(entry: OrderEntry, items: list[dict[str, Any]]) -> str | None:
        try:
            answer = client.feedback(entry.service_id, items)
        except CdsCallError as error:
            return f"The feedback could not be sent, so the order was not placed: {error}"
        entry.feedback_sent += items
        entry.feedback_stored += int(answer.get("stored", 0)) if isinstance(answer.get("stored"), int) else 0
        entries.save(entry)
        return None

    @app.get(CDS_CLIENT_JWKS_PATH)
    def cds_client_jwks():  # type: ignore[no-untyped-def]
        return jsonify(client.public_jwks())

    @app.route("/chart/order/<patient_id>", methods=["GET", "POST"])
    def compose(patient_id: str):  # type: ignore[no-untyped-def]
        user = signed_in()
        if user is None:
            return redirect(url_for("login", next=request.path), code=303)
        user = prescriber()
        patient = directory.patient(patient_id)
        if patient is None:
            abort(404)
        if request.method == "GET":
            return render_template("order_form.html", patient=patient, form=OrderForm.defaults(settings),
                                   reasons=REASONS, user=user, csrf=csrf(), error=None)
        check_csrf()
        try:
            form = OrderForm.read(request.form)
        except FormError as error:
            return render_template("order_form.html", patient=patient, form=OrderForm.defaults(settings),
                                   reasons=REASONS, user=user, csrf=csrf(), error=f"{error.field}: {error}"), 400
        encounter = directory.clinic_visit(patient)
        requester = {"reference": user_reference(user), "display": user.display_name}
        entry = entries.new(user.username, patient_id, encounter, draft_order(form, patient_id, requester, encounter))
        return checked(entry, user, "order-select")

    @app.get("/chart/order/entry/<entry_id>")
    def show(entry_id: str):  # type: ignore[no-untyped-def]
        user = signed_in()
        if user is None:
            return redirect(url_for("login", next=request.path), code=303)
        user = prescriber()
        return page(entry_of(entry_id, user, placed_too=True), user)

    @app.get("/chart/order/entry/<entry_id>/answer")
    def answer_status(entry_id: str):  # type: ignore[no-untyped-def]
        entry = entry_of(entry_id, prescriber(), placed_too=True)
        if not entry.placed_message_id:
            return jsonify({"status": "not-placed"})
        return jsonify({"status": answer_view(entries.answer(entry.placed_message_id)).status})

    @app.post("/chart/order/entry/<entry_id>/withdraw")
    def withdraw(entry_id: str):  # type: ignore[no-untyped-def]
        check_csrf()
        user = prescriber()
        entry = entry_of(entry_id, user, placed_too=True)
        answer = answer_view(entries.answer(entry.placed_message_id))
        if answer.status != "refused" or not entry.placed_order_id:
            return page(entry, user, "Only an order Ketalink refused is discontinued here.", 409)
        try:
            placer.withdraw(entry.placed_order_id, f"{answer.headline}: " + "; ".join(answer.lines))
        except Exception as error:  # noqa: BLE001 - a store failure is shown, not a 500
            log.warning("order not withdrawn", extra={"patient_id": entry.patient_id, "error": type(error).__name__})
            return page(entry, user, "The order could not be discontinued (EHR store unavailable or the order "
                                     "changed); reload and try again.", 503)
        entry.withdrawn = True
        entries.save(entry)
        log.info("refused order withdrawn", extra={"patient_id": entry.patient_id, "order_id": entry.placed_order_id})
        return redirect(url_for("show", entry_id=entry.entry_id), code=303)

    @app.post("/chart/order/entry/<entry_id>/sign")
    def sign(entry_id: str):  # type: ignore[no-untyped-def]
        check_csrf()
        user = prescriber()
        return checked(entry_of(entry_id, user), user, "order-sign")

    @app.post("/chart/order/entry/<entry_id>/suggestion")
    def accept_suggestion(entry_id: str):  # type: ignore[no-untyped-def]
        check_csrf()
        user = prescriber()
        entry = entry_of(entry_id, user)
        card = entry.card(request.form.get("card", ""))
        suggestion = next((s for s in (card or {}).get("suggestions", [])
                           if s.get("uuid") == request.form.get("suggestion")), None)
        resource = _suggested_order(suggestion)
        if card is None or suggestion is None or resource is None:
            return page(entry, user, "That suggestion is no longer offered.", 400)
        if (resource.get("subject") or {}).get("reference") != entry.draft["subject"]["reference"]:
            return page(entry, user, "That suggestion is about another patient: it was not applied.", 400)
        error = send_feedback(entry, [_feedback(card, "accepted", acceptedSuggestions=[{"id": suggestion["uuid"]}])])
        if error:
            return page(entry, user, error, 502)
        entry.draft = _as_draft(resource, entry.draft)
        return checked(entry, user, "order-sign")

    @app.post("/chart/order/entry/<entry_id>/place")
    def place(entry_id: str):  # type: ignore[no-untyped-def]
        check_csrf()
        user = prescriber()
        entry = entry_of(entry_id, user)
        if not entries.claim_placing(entry_id):
            abort(409, "this order is being placed or has been placed")
        try:
            return place_signed(entry, user)
        finally:
            entries.release_placing(entry_id)

    def place_signed(entry: OrderEntry, user: DemoUser):  # type: ignore[no-untyped-def]
        if not entry.signed:
            return page(entry, user, "Sign the order first: decision support checks it before it is placed.", 409)
        overrides = []
        for card in entry.critical_cards():
            chosen = request.form.get(f"override-{card['uuid']}", "")
            reason = next((r for r in card.get("overrideReasons", []) if r.get("code") == chosen), None)
            if reason is None:
                return page(entry, user, f"Choose an override reason for: {card.get('summary', '')}", 400)
            comment = request.form.get(f"comment-{card['uuid']}", "").strip()[:1000]
            override: dict[str, Any] = {"reason": reason}
            if comment:
                override["userComment"] = comment
            overrides.append(_feedback(card, "overridden", overrideReason=override))
        if overrides:
            error = send_feedback(entry, overrides)
            if error:
                return page(entry, user, error, 502)
        try:
            stored, message_id = placer.place(entry.draft, entry.patient_id)
        except Exception as error:  # noqa: BLE001 - a broker or store failure is shown, not a 500
            log.warning("order not placed", extra={"patient_id": entry.patient_id, "error": type(error).__name__})
            return page(entry, user, "The order could not be placed (EHR store or message broker unavailable); "
                                     "try again.", 503)
        entries.placed(entry, message_id, stored.get("id"))
        log.info("order placed", extra={"patient_id": entry.patient_id, "message_id": message_id})
        # Post/redirect/get: a reload shows the placed order (and its answer), it does not place it again
        return redirect(url_for("show", entry_id=entry.entry_id), code=303)


def _smart_apps(cards: list[dict[str, Any]], app_launch_urls: dict[str, str]) -> dict[str, str]:
    """Each SMART link's URL → the client id of the registered app served at the same origin."""
    found = {}
    for card in cards:
        for link in card.get("links", []):
            if isinstance(link, dict) and link.get("type") == "smart" and isinstance(link.get("url"), str):
                origin = _origin(link["url"])
                client = next((c for c, url in app_launch_urls.items() if _origin(url) == origin), None)
                if client:
                    found[link["url"]] = client
    return found


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _suggested_order(suggestion: dict[str, Any] | None) -> dict[str, Any] | None:
    for action in (suggestion or {}).get("actions", []):
        resource = action.get("resource") if isinstance(action, dict) else None
        if action.get("type") in SUGGESTION_ACTIONS and isinstance(resource, dict) and \
                resource.get("resourceType") == "MedicationRequest":
            return resource
    return None


def _as_draft(resource: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """The suggestion's order as the new draft: still a draft, with the draft's id and EHR identifier (the CDS
    service's resource is about the same order)."""
    draft = dict(resource)
    draft["id"] = previous["id"]
    draft["status"] = "draft"
    draft["identifier"] = previous["identifier"]
    draft.setdefault("requester", previous.get("requester"))
    return draft


def _feedback(card: dict[str, Any], outcome: str, **extra: Any) -> dict[str, Any]:
    at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return {"card": card["uuid"], "outcome": outcome, "outcomeTimestamp": at, **extra}
