"""Benchmark agent hook decisions: ``POST /api/v1/agent/events`` at N concurrent sessions.

    .venv/bin/python bench/agent_hooks.py --sessions 50 --calls 40

Each simulated session sends what Claude Code sends for every tool call — a ``PreToolUse``
(answered allow/deny: the decision latency the agent waits for) and a ``PostToolUse`` (stored in
the durable operation buffer, flushed to the ledger every 50 operations) — ``--calls`` times,
all ``--sessions`` at once.  The App runs for real: agent-token authentication, the access log,
the revocation and freeze reads (no cache), the policy path rules (a policy with four), SQLite
with ``synchronous=FULL``.  Baseline, same run, same client: a bare aiohttp handler that parses
the same JSON and answers the same allow JSON without checking or storing anything.

Then the kill switch: while the sessions keep working, an admin revokes one of them through
``POST /api/v1/sessions/{id}/revoke``; the time from sending the revocation to that session's
first denied ``PreToolUse`` is reported (target under 1 s).  Not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from github_app.app_keys import SERVICES
from github_app.config import Settings
from github_app.logs import configure_logging
from github_app.policy.model import PathRule, Policy
from github_app.server.app import create_app
from github_app.tokens import TokenStore

ALLOW = {
    "hookSpecificOutput": {
        "hookEventName": "PreToolUse",
        "permissionDecision": "allow",
        "permissionDecisionReason": "allowed by Countersign",
    }
}
POLICY = Policy(
    paths=(
        PathRule(pattern="customer-data/**", agents_may_not_read=True),
        PathRule(pattern="secrets/**", agents_forbidden=True),
        PathRule(pattern="*.pem", agents_may_not_read=True),
        PathRule(pattern="infra/prod/**", agents_forbidden=True),
    )
)


def event(name: str, session: str, number: int) -> dict:
    """A Claude Code tool event (a Read, or every fourth call a Bash command)."""
    tool, tool_input = (
        ("Bash", {"command": f"pytest -q tests/test_{number}.py", "description": "tests"})
        if number % 4 == 3
        else ("Read", {"file_path": f"/home/dev/shop/src/module_{number}.py"})
    )
    body = {
        "session_id": session,
        "transcript_path": f"/home/dev/.claude/projects/shop/{session}.jsonl",
        "cwd": "/home/dev/shop",
        "hook_event_name": name,
        "permission_mode": "default",
        "tool_name": tool,
        "tool_input": tool_input,
        "tool_use_id": f"toolu_{number}",
        "repo": "acme/shop",
    }
    if name == "PostToolUse":
        body["tool_response"] = {"stdout": "ok", "stderr": "", "interrupted": False}
    return body


def baseline_app() -> web.Application:
    async def answer(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(ALLOW if body["hook_event_name"] == "PreToolUse" else {})

    app = web.Application()
    app.router.add_post("/api/v1/agent/events", answer)
    return app


async def run_sessions(
    url: str, headers: dict, sessions: int, calls: int, prefix: str, think: float
) -> tuple[list[float], list[float], float]:
    """Every session sends ``calls`` Pre/PostToolUse pairs, ``think`` seconds apart (the agent
    thinking and the tool running); (pre ms, post ms, elapsed s)."""
    pre: list[float] = []
    post: list[float] = []

    async def one(client: aiohttp.ClientSession, session: str) -> None:
        await asyncio.sleep(random.random() * think)  # sessions do not start in lockstep
        for number in range(calls):
            for name, latencies in (("PreToolUse", pre), ("PostToolUse", post)):
                started = time.perf_counter()
                async with client.post(
                    url, json=event(name, session, number), headers=headers
                ) as r:
                    await r.read()
                    assert r.status == 200, (r.status, await r.text())
                latencies.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(think)
        end = {**event("SessionEnd", session, calls), "reason": "prompt_input_exit"}
        async with client.post(url, json=end, headers=headers) as r:
            assert r.status == 200, await r.text()

    connector = aiohttp.TCPConnector(limit=0)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as client:
        await asyncio.gather(*(one(client, f"{prefix}-{n}") for n in range(sessions)))
    return pre, post, time.perf_counter() - started


async def kill_switch(base: str, agent: dict, admin: dict, sessions: int, think: float) -> float:
    """Revoke one working session under load; ms from the revoke request to its first denial."""
    victim = "victim-session"
    denied_at: list[float] = []
    stop = asyncio.Event()

    async def victim_loop(client: aiohttp.ClientSession) -> None:
        number = 0
        while not stop.is_set():
            body = event("PreToolUse", victim, number)
            async with client.post(f"{base}/api/v1/agent/events", json=body, headers=agent) as r:
                answer = await r.json()
            if answer["hookSpecificOutput"]["permissionDecision"] == "deny":
                denied_at.append(time.perf_counter())
                stop.set()
            number += 1

    async def load(client: aiohttp.ClientSession, session: str) -> None:
        number = 0
        while not stop.is_set():
            body = event("PreToolUse", session, number)
            async with client.post(f"{base}/api/v1/agent/events", json=body, headers=agent) as r:
                await r.read()
            number += 1
            await asyncio.sleep(think)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as client:
        tasks = [asyncio.create_task(victim_loop(client))]
        tasks += [asyncio.create_task(load(client, f"load-{n}")) for n in range(sessions - 1)]
        await asyncio.sleep(0.5)
        revoked_at = time.perf_counter()
        async with client.post(
            f"{base}/api/v1/sessions/{victim}/revoke", json={"reason": "bench"}, headers=admin
        ) as r:
            assert r.status == 200, await r.text()
        await asyncio.wait_for(stop.wait(), timeout=30)
        await asyncio.gather(*tasks)
    return (denied_at[0] - revoked_at) * 1000


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def row(label: str, samples: list[float]) -> list[str]:
    return [
        label,
        f"{len(samples):,}",
        f"{statistics.median(samples):.2f} ms",
        f"{percentile(samples, 0.99):.2f} ms",
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--calls", type=int, default=40, help="tool calls per session")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=250,
        help="pause between a session's tool calls (real agents: seconds)",
    )
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    think = args.think_ms / 1000

    runner, base = await serve(baseline_app())
    try:
        url = f"{base}/api/v1/agent/events"
        await run_sessions(url, {}, args.sessions, 5, "warm", think)
        base_pre, base_post, _ = await run_sessions(url, {}, args.sessions, args.calls, "b", think)
    finally:
        await runner.cleanup()

    with tempfile.TemporaryDirectory() as workdir:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite:///{workdir}/bench.db",
            countersign_signing_key_path=Path(workdir) / "key",
            log_level="WARNING",
        )
        app = create_app(settings, start_worker=False)
        runner, base = await serve(app)
        try:
            services = app[SERVICES]
            services.default_policy = POLICY
            tokens = TokenStore(services.db)
            agent = {"Authorization": "Bearer " + tokens.create("bench", "agent", login="dev")[1]}
            admin = {"Authorization": "Bearer " + tokens.create("ops", "admin")[1]}
            url = f"{base}/api/v1/agent/events"
            await run_sessions(url, agent, args.sessions, 5, "warm", think)
            pre, post, elapsed = await run_sessions(
                url, agent, args.sessions, args.calls, "s", think
            )
            kill_ms = await kill_switch(base, agent, admin, args.sessions, think)
            entries = sum(1 for _ in services.ledger.entries(kinds=["agent_operation"]))
        finally:
            await runner.cleanup()

    print(
        f"{args.sessions} concurrent sessions x {args.calls} tool calls "
        f"(PreToolUse + PostToolUse each, {args.think_ms:.0f} ms apart), SQLite, "
        "synchronous=FULL"
    )
    print(
        tabulate(
            [
                row("baseline: bare aiohttp handler, PreToolUse", base_pre),
                row("Countersign PreToolUse (decision)", pre),
                row("baseline: bare aiohttp handler, PostToolUse", base_post),
                row("Countersign PostToolUse (buffered)", post),
            ],
            headers=["endpoint", "calls", "p50", "p99"],
        )
    )
    calls = len(pre) + len(post)
    print(
        f"decision p99 = {percentile(pre, 0.99):.2f} ms "
        f"({percentile(pre, 0.99) / percentile(base_pre, 0.99):.1f}x the baseline's "
        f"{percentile(base_pre, 0.99):.2f} ms); {calls / elapsed:,.0f} hook calls/s; "
        f"{entries} agent_operation entries for {len(post) + 5 * args.sessions:,} operations"
    )
    print(f"kill switch: revoke -> first denied PreToolUse of that session = {kill_ms:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
