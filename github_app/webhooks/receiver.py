"""``POST /webhooks``: verify, store durably, answer 202 — processing happens in the worker.

Order matters: the signature is checked on the raw bytes before anything is parsed, and the
delivery is committed to the inbox before GitHub hears back, so an accepted delivery survives a
crash.  Concurrent deliveries share a transaction (:mod:`github_app.webhooks.intake`); each is
answered once its own row is durable.  A repeated ``X-GitHub-Delivery`` is acknowledged without
being stored again; a delivery that could not be stored gets a 503, and only that one.
"""

from __future__ import annotations

from typing import Protocol

import msgspec
from aiohttp import web
from gidgethub import ValidationFailure, sansio

from github_app.app_keys import SERVICES
from github_app.config import Settings
from github_app.logs import get_logger
from github_app.metrics import WEBHOOKS_RECEIVED
from github_app.webhooks.events import HANDLED_EVENTS
from github_app.webhooks.inbox import Inbox
from github_app.webhooks.intake import Intake
from github_app.webhooks.worker import Worker

log = get_logger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
# GitHub's payloads nest about ten levels; anything far deeper is not a GitHub event.
MAX_PAYLOAD_DEPTH = 64


class IntakeServices(Protocol):
    """What intake uses of the shared services: settings, the intake writer, the worker."""

    settings: Settings
    inbox: Inbox
    intake: Intake
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


class _Ref(msgspec.Struct):
    id: int | None = None


class Envelope(msgspec.Struct):
    """The few fields intake reads; the rest of the payload is checked as JSON but not built."""

    action: str | None = None
    installation: _Ref | None = None
    repository: _Ref | None = None
    zen: str | None = None


_ENVELOPE = msgspec.json.Decoder(Envelope)


def _parse_envelope(body: bytes) -> Envelope | None:
    """The delivery's envelope, or ``None`` unless the body is a UTF-8 JSON object.

    Decoding only the envelope is an order of magnitude cheaper than building the whole
    payload, which the worker does later anyway.
    """
    try:
        body.decode("utf-8")  # the decoder skips strings it does not keep without checking them
        if nested_deeper_than(body, MAX_PAYLOAD_DEPTH):
            return None
        return _ENVELOPE.decode(body)
    except (UnicodeDecodeError, msgspec.DecodeError, RecursionError):
        return None


_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'"[]{}')


def nested_deeper_than(body: bytes, limit: int) -> bool:
    """Whether the JSON text nests arrays and objects deeper than about ``limit`` levels.

    A signed body can still be hostile: nesting a few thousand levels deep makes any later
    walk of the payload raise ``RecursionError``.  Strings are dropped first (they may hold
    brackets), then innermost pairs are peeled ``limit`` times, all of it in C.  A pass may peel
    both kinds of bracket, so nesting up to ``2 * limit`` can pass; deeper never does.  Only
    valid JSON matters here (anything else is refused by the decoder anyway).
    """
    return _peel(_structure(body), limit)


def _structure(body: bytes) -> bytes:
    """The brackets of valid JSON text outside its strings, in order.

    Done with byte replaces and one ``translate`` instead of a regular expression over the
    strings: that took about 1.5 ms for a 24 KiB delivery, more than the rest of intake.  In
    valid JSON a backslash only occurs inside a string and escapes the next character, so
    removing escaped backslashes (leftmost pairs first, as they pair up) and then escaped quotes
    leaves every remaining ``"`` delimiting a string.  Keeping only quotes and brackets, a
    string becomes a quoted run of brackets: ``""`` pairs go first (removing a closing quote
    with the next opening one only merges two strings), the few left by splitting.
    """
    if b"\\" in body:
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = body.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in kept:
        kept = b"".join(kept.split(b'"')[::2])
    return kept


def _peel(brackets: bytes, limit: int) -> bool:
    for _ in range(limit):
        if not brackets:
            return False
        brackets = brackets.replace(b"[]", b"").replace(b"{}", b"")
    return bool(brackets)


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
    payload = _parse_envelope(body)
    if payload is None:
        WEBHOOKS_RECEIVED.labels(event, "malformed").inc()
        return _problem(400, f"body is not a JSON object (nested at most {MAX_PAYLOAD_DEPTH} deep)")
    if event == "ping":
        return web.json_response({"status": "pong", "zen": payload.zen})
    if event not in HANDLED_EVENTS:
        WEBHOOKS_RECEIVED.labels(event, "ignored").inc()
        return web.json_response({"status": "ignored", "reason": f"event {event!r} is not used"})
    installation_id = payload.installation.id if payload.installation else None
    repo_id = payload.repository.id if payload.repository else None
    try:
        stored = await services.intake.store(
            delivery_id, event, payload.action, installation_id, body, repo_id=repo_id
        )
    except Exception:
        WEBHOOKS_RECEIVED.labels(event, "store_failed").inc()
        log.exception("webhook_store_failed", delivery_id=delivery_id, event_name=event)
        return _problem(503, "the delivery could not be stored; redeliver it")
    WEBHOOKS_RECEIVED.labels(event, "accepted" if stored else "duplicate").inc()
    if stored:
        services.worker.wake()
    log.info("webhook_stored", delivery_id=delivery_id, event_name=event, duplicate=not stored)
    return web.json_response(
        {"status": "accepted" if stored else "duplicate", "delivery_id": delivery_id}, status=202
    )
