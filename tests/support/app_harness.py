"""The whole App under test: aiohttp app, tmp SQLite store, fake GitHub, signed deliveries.

``app_harness`` builds the real application with settings pointed at the fake GitHub, so a test
goes in through ``POST /webhooks`` and out through the HTTP requests GitHub would receive.  The
worker is not started in the background; tests call ``drain()`` to process what was stored, which
keeps them deterministic.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from github_app.app_keys import SERVICES
from github_app.config import Settings
from github_app.github.client import GitHubClient, RetryPolicy
from github_app.server.app import create_app
from github_app.services import Services
from tests.support.fake_github import FAKE_APP_ID, FakeGitHub, no_sleep
from tests.support.webhooks import signed_headers

WEBHOOK_SECRET = "test-webhook-secret"


def harness_settings(tmp_path: Path, private_key_pem: str, **overrides: Any) -> Settings:
    """Settings for an App talking to the fake GitHub, storing in ``tmp_path``."""
    values: dict[str, Any] = {
        "github_app_id": FAKE_APP_ID,
        "github_private_key": private_key_pem,
        "github_webhook_secret": WEBHOOK_SECRET,
        "github_api_url": "https://github.test/api/v3",
        "database_url": f"sqlite:///{tmp_path / 'countersign.db'}",
        "countersign_signing_key_path": tmp_path / "ledger-signing.key",
        "log_format": "console",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@dataclass
class AppHarness:
    """A running App plus the fake GitHub it talks to."""

    client: TestClient
    services: Services
    github: FakeGitHub

    async def deliver(
        self,
        event: str,
        payload: dict[str, Any] | bytes,
        *,
        delivery_id: str | None = None,
        secret: str = WEBHOOK_SECRET,
    ):
        """POST a signed delivery to ``/webhooks``; returns the aiohttp response."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = signed_headers(event, body, secret, delivery_id=delivery_id or str(uuid.uuid4()))
        return await self.client.post("/webhooks", data=body, headers=headers)

    async def drain(self) -> int:
        """Process every stored delivery now."""
        return await self.services.worker.drain()

    async def deliver_and_process(self, event: str, payload: dict[str, Any], **kwargs: Any):
        """Deliver, check it was accepted, and process it."""
        response = await self.deliver(event, payload, **kwargs)
        assert response.status == 202, await response.text()
        await self.drain()
        return response

    def ledger_kinds(self) -> list[str]:
        """The kinds of every ledger entry, in order."""
        return [entry.kind for entry in self.services.ledger.entries()]


@pytest.fixture
async def app_harness(
    aiohttp_client, github: FakeGitHub, app_private_key_pem: str, tmp_path: Path
) -> AsyncIterator[AppHarness]:
    """The App wired to the fake GitHub and a fresh SQLite store."""
    settings = harness_settings(tmp_path, app_private_key_pem)
    client = GitHubClient(
        app_id=FAKE_APP_ID,
        private_key=app_private_key_pem,
        base_url=github.base_url,
        retry=RetryPolicy(sleep=no_sleep),
    )
    app = create_app(settings, start_worker=False, github=client)
    test_client = await aiohttp_client(app)
    yield AppHarness(test_client, app[SERVICES], github)
