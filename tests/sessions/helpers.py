"""Helpers of the agent-session tests: hook payloads as agents send them, and the App."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from github_app.api.mount import settle
from tests.support.app_harness import AppHarness

LAUNCHER = "alice-dev"
AGENT_TOKEN_NAME = "alice-laptop"
EVENTS = "/api/v1/agent/events"


def bearer(secret: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {secret}"}


@dataclass
class AgentApp:
    """The App plus an agent token bound to ``alice-dev`` and an admin and an auditor token."""

    harness: AppHarness
    agent: dict[str, str]
    admin: dict[str, str]
    auditor: dict[str, str]

    @property
    def client(self):
        """The aiohttp test client."""
        return self.harness.client

    @property
    def ledger(self):
        """The App's ledger."""
        return self.harness.services.ledger

    async def post(self, event: dict[str, Any], *, headers: dict | None = None, query: str = ""):
        """POST one hook event with the agent token; returns (status, JSON body)."""
        response = await self.client.post(
            EVENTS + query, json=event, headers=self.agent if headers is None else headers
        )
        return response.status, await response.json()

    async def settle(self) -> None:
        """Wait for the writes the endpoint makes after its answers (deferred access-log rows,
        flushes of full groups)."""
        await settle(self.client.app)

    def kinds(self) -> list[str]:
        """Kinds of every ledger entry, in order."""
        return [entry.kind for entry in self.ledger.entries()]

    def entries(self, kind: str) -> list:
        """Every ledger entry of one kind."""
        return list(self.ledger.entries(kinds=[kind]))


def claude_event(name: str, session: str = "sess-1", **fields: Any) -> dict[str, Any]:
    """A Claude Code hook payload, as Claude Code sends it."""
    event = {
        "session_id": session,
        "transcript_path": f"/home/alice/.claude/projects/shop/{session}.jsonl",
        "cwd": "/home/alice/shop",
        "hook_event_name": name,
        "permission_mode": "default",
    }
    event.update(fields)
    return event


def tool_event(name: str, tool: str, tool_input: dict, session: str = "sess-1", **more: Any):
    """A PreToolUse / PostToolUse payload for one tool call."""
    return claude_event(
        name, session, tool_name=tool, tool_input=tool_input, tool_use_id="toolu_01", **more
    )
