"""``POST /webhooks``: verify, store durably, answer 202 — processing happens in the worker.

Order matters: the signature is checked on the raw bytes before anything is parsed, and the
delivery is committed to the inbox before GitHub hears back, so an accepted delivery survives a
crash.  A repeated ``X-GitHub-Delivery`` is acknowledged without being stored again.
"""

from __future__ import annotations

import asyncio
import json
from functools import partial
from typing import Protocol

from aiohttp import web
from gidgethub import ValidationFailure, sansio

from github_app.app_keys import SERVICES
from github_app.config import Settings
from github_app.core.github_json import nesting_depth
from github_app.logs import get_logger
from github_app.metrics import WEBHOOKS_RECEIVED
from github_app.webhooks.events import HANDLED_EVENTS
from github_app.webhooks.inbox import Inbox
from github_app.webhooks.worker import Worker

log = get_logger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
# GitHub's payloads nest about ten levels; anything far deeper is not a GitHub event.
MAX_PAYLOAD_DEPTH = 64


class IntakeServices(Protocol):
    """What intake uses of the shared services: settings, the inbox, and the worker to wake."""

    settings: Settings
    inbox: Inbox
    worker: Worker


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _verify_signature(body: bytes, signature: str | None, secret: str) -> str | None:
    """Return why the signature is unacceptable, or ``None`` when it is valid."""
    if not signature:
        return f"missing {SIGNATURE_HEADER}"
    if not signature.startswith("sha256="):
        return f"{SIGNATURE_HEADER} must be a sha256= HMAC"
    try:
        sansio.validate_event(body, signature=signature, secret=secret)  # constant-time compare
    except ValidationFailure:
        return "signature does not match the payload"
    return None


def _parse_object(body: bytes) -> dict | None:
    """The body as a JSON object, or ``None`` if it is not one (or is nested absurdly deep).

    A signed body can still be hostile: nesting a few thousand levels deep makes ``json.loads``
    (or any later walk of the payload) raise ``RecursionError``; that is bad input, a 400.
    """
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(payload, dict) or nesting_depth(payload) > MAX_PAYLOAD_DEPTH:
        return None
    return payload


async def receive_webhook(request: web.Request) -> web.Response:
    """Handle one GitHub delivery."""
    services: IntakeServices = request.app[SERVICES]
    if services.settings.setup_mode:
        return _problem(503, "Countersign is in setup mode: GITHUB_APP_ID is not configured")
    event = request.headers.get("X-GitHub-Event", "")
    body = await request.read()  # aiohttp enforces client_max_size (413 beyond it)
    secret = services.settings.github_webhook_secret.get_secret_value()
    if reason := _verify_signature(body, request.headers.get(SIGNATURE_HEADER), secret):
        WEBHOOKS_RECEIVED.labels(event or "unknown", "rejected").inc()
        log.warning("webhook_rejected", reason=reason, event_name=event)
        return _problem(401, reason)
    delivery_id = request.headers.get("X-GitHub-Delivery", "")
    if not event or not delivery_id:
        return _problem(400, "missing X-GitHub-Event or X-GitHub-Delivery header")
    payload = _parse_object(body)
    if payload is None:
        WEBHOOKS_RECEIVED.labels(event, "malformed").inc()
        return _problem(400, f"body is not a JSON object (nested at most {MAX_PAYLOAD_DEPTH} deep)")
    if event == "ping":
        return web.json_response({"status": "pong", "zen": payload.get("zen")})
    if event not in HANDLED_EVENTS:
        WEBHOOKS_RECEIVED.labels(event, "ignored").inc()
        return web.json_response({"status": "ignored", "reason": f"event {event!r} is not used"})
    installation_id = (payload.get("installation") or {}).get("id")
    repo_id = (payload.get("repository") or {}).get("id")
    stored = await asyncio.to_thread(
        partial(services.inbox.store, repo_id=repo_id),
        delivery_id,
        event,
        payload.get("action"),
        installation_id,
        body,
    )
    WEBHOOKS_RECEIVED.labels(event, "accepted" if stored else "duplicate").inc()
    if stored:
        services.worker.wake()
    log.info("webhook_stored", delivery_id=delivery_id, event_name=event, duplicate=not stored)
    return web.json_response(
        {"status": "accepted" if stored else "duplicate", "delivery_id": delivery_id}, status=202
    )
