"""Helpers for driving the setup page: an App in setup mode talking to the fake GitHub."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from github_app.config import Settings
from github_app.server.app import create_app
from github_app.server.setup import SETUP_GUARD
from tests.support.fake_github import FAKE_API_URL, FakeGitHub, example

# A request that came through a proxy: the page must not trust it as "this machine".
REMOTE = {"X-Forwarded-For": "203.0.113.9"}


def setup_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings of an unconfigured App whose store (and data folder) is ``tmp_path/data``."""
    values: dict[str, Any] = {
        "github_api_url": FAKE_API_URL,
        "database_url": f"sqlite:///{tmp_path / 'data' / 'countersign.db'}",
        "countersign_signing_key_path": tmp_path / "data" / "ledger-signing.key",
        "log_format": "console",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


async def setup_client(aiohttp_client, settings: Settings):
    """A test client for the App; ``client.app[SETUP_GUARD]`` holds the setup code."""
    return await aiohttp_client(create_app(settings, start_worker=False))


def setup_code(client) -> str:
    return client.app[SETUP_GUARD].setup_code


def route_conversion(github: FakeGitHub, **fields: Any):
    """GitHub's answer to the manifest conversion (its own documented example, adjusted)."""
    body = example("integration-from-manifest")
    body.update({"id": 4321, "slug": "countersign-acme", "webhook_secret": "whsec_1"})
    body["html_url"] = "https://github.test/apps/countersign-acme"
    body["pem"] = (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEfake\nline2\n-----END RSA PRIVATE KEY-----\n"
    )
    body.update(fields)
    return github.route("POST", "/app-manifests/{code}/conversions", status=201, json=body)


def handoff(page: str) -> tuple[str, dict[str, Any], str]:
    """The form action, the manifest and the state of the page that hands over to GitHub."""
    action = html.unescape(re.search(r'<form id="manifest" action="([^"]+)"', page).group(1))
    manifest = json.loads(html.unescape(re.search(r'name="manifest" value="([^"]+)"', page)[1]))
    state = re.search(r"state=([A-Za-z0-9_-]+)", action).group(1)
    return action, manifest, state


async def start(client, **form: str):
    """POST the setup form; returns the response."""
    values = {"owner": "organization", "org": "acme", "public_url": "https://cs.acme.example"}
    values.update(form)
    headers = values.pop("headers", None)
    return await client.post("/", data=values, headers=headers)
