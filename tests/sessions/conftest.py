"""Agent-session fixtures: the real App (fake GitHub, SQLite) with tokens of every role."""

from __future__ import annotations

import pytest

from github_app.tokens import TokenStore
from tests.sessions.helpers import AGENT_TOKEN_NAME, LAUNCHER, AgentApp, bearer
from tests.support.app_harness import AppHarness


@pytest.fixture
def agent_app(app_harness: AppHarness) -> AgentApp:
    """The App with an agent token for ``alice-dev``, an admin and an auditor token."""
    store = TokenStore(app_harness.services.db)
    _, agent = store.create(AGENT_TOKEN_NAME, "agent", login=LAUNCHER)
    _, admin = store.create("secops", "admin")
    _, auditor = store.create("audit-firm", "auditor")
    return AgentApp(app_harness, bearer(agent), bearer(admin), bearer(auditor))
