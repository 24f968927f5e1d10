"""Webhook deliveries for tests: GitHub's example payloads, signed the way GitHub signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

WEBHOOK_FIXTURES = Path(__file__).parent.parent / "fixtures" / "webhooks"


def load_payload(event: str, name: str) -> dict[str, Any]:
    """The payload ``tests/fixtures/webhooks/<event>/<name>`` (``.json`` optional).

    ``name`` may omit the ``.payload.json`` suffix: ``load_payload("pull_request", "opened")``.
    """
    folder = WEBHOOK_FIXTURES / event
    for candidate in (name, f"{name}.json", f"{name}.payload.json"):
        path = folder / candidate
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    available = sorted(p.name for p in folder.glob("*.json")) if folder.is_dir() else []
    raise FileNotFoundError(f"no webhook fixture {event}/{name}; available: {available}")


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``: ``sha256=<hex HMAC>``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(
    event: str, body: bytes, secret: str, delivery_id: str | None = None
) -> dict[str, str]:
    """The headers of a genuine delivery of ``body`` as event ``event``."""
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body, secret),
        "Content-Type": "application/json",
    }
