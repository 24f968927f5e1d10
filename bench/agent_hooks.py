"""Benchmark agent hook decisions: ``POST /api/v1/agent/events`` at N concurrent sessions.

    .venv/bin/python bench/agent_hooks.py --sessions 50 --calls 40

Each simulated session sends what Claude Code sends for every tool call — a ``PreToolUse``
(answered allow/deny: the decision latency the agent waits for) and a ``PostToolUse`` (stored in
the durable operation buffer, flushed to the ledger every 50 operations) — ``--calls`` times,
all ``--sessions`` at once.  The App runs for real: agent-token authentication, the access log,
the revocation and freeze state (in memory, re-validated by the poller), the repository's
effective policy — read through the App's installation from a local stand-in for GitHub that
serves ``acme/shop``'s ``.github/countersign.yml`` (cached per repository and head) — with four
path rules, SQLite with ``synchronous=FULL``.  Baseline, same run, same client: a bare aiohttp
handler that parses the same JSON and answers the same allow JSON without checking or storing
anything.

Then the kill switch, twice, while the sessions keep working: an admin revokes one session
through ``POST /api/v1/sessions/{id}/revoke`` (this replica), then another session is revoked
through a second database handle, as another replica or the CLI would; the time from the
revocation to that session's first denied ``PreToolUse`` is reported (target under 1 s).
``uptime``'s load average is printed with the figures.  Not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
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

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from github_app.api.freeze_revoke import revoke_session
from github_app.app_keys import SERVICES
from github_app.config import Settings
from github_app.ledger.checkpoints import load_or_create_signing_key
from github_app.logs import configure_logging
from github_app.policy.model import PathRule, Policy
from github_app.server.app import create_app
from github_app.state.containment import Containment
from github_app.store.database import Database
from github_app.store.ledger import Ledger
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
    )
)
REPO_POLICY = """\
paths:
  - pattern: "infra/prod/**"
    agents_forbidden: true
"""


def fake_github() -> web.Application:
    """What the App asks GitHub for acme/shop's policy (a local stand-in, answering at once)."""
    content = base64.b64encode(REPO_POLICY.encode()).decode()

    async def installation(_request: web.Request) -> web.Response:
        return web.json_response({"id": 7})

    async def token(_request: web.Request) -> web.Response:
        return web.json_response(
            {"token": "ghs_bench", "expires_at": "2999-01-01T00:00:00Z"}, status=201
        )

    async def repository(_request: web.Request) -> web.Response:
        return web.json_response({"default_branch": "main"})

    async def branch(_request: web.Request) -> web.Response:
        return web.json_response({"name": "main", "commit": {"sha": "a" * 40}})

    async def branch_head(_request: web.Request) -> web.Response:
        return web.json_response({"sha": "b" * 40})

    async def policy_file(_request: web.Request) -> web.Response:
        return web.json_response({"type": "file", "encoding": "base64", "content": content})

    async def missing(_request: web.Request) -> web.Response:
        return web.json_response({"message": "Not Found"}, status=404)

    async def no_installations(_request: web.Request) -> web.Response:
        return web.json_response([])  # the containment watch's sweep finds nothing to re-check

    app = web.Application()
    app.router.add_get("/app/installations", no_installations)
    app.router.add_get("/repos/acme/shop/installation", installation)
    app.router.add_post("/app/installations/7/access_tokens", token)
    app.router.add_get("/repos/acme/shop", repository)
    app.router.add_get("/repos/acme/shop/branches/main", branch)
    app.router.add_get("/repos/acme/shop/contents/.github/countersign.yml", policy_file)
    # The org's .github repository exists and is readable, with no countersign.yml in it.
    app.router.add_get("/repos/acme/.github", repository)
    app.router.add_get("/repos/acme/.github/commits/HEAD", branch_head)
    app.router.add_get("/repos/acme/.github/contents/countersign.yml", missing)
    return app


def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


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


PHASES = ("PreToolUse", "PostToolUse")


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
                if name not in PHASES:
                    continue
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


async def kill_switch(base: str, agent: dict, sessions: int, think: float, revoke) -> float:
    """Revoke one working session under load (``revoke(victim)``, awaited); ms from the start of
    the revocation to that session's first denied PreToolUse."""
    victim = f"victim-{time.perf_counter_ns()}"
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
        await revoke(client, victim)
        await asyncio.wait_for(stop.wait(), timeout=30)
        await asyncio.gather(*tasks)
    return (denied_at[0] - revoked_at) * 1000


def through_api(base: str, admin: dict):
    """Revoke through this replica's admin API."""

    async def revoke(client: aiohttp.ClientSession, victim: str) -> None:
        url = f"{base}/api/v1/sessions/{victim}/revoke"
        async with client.post(url, json={"reason": "bench"}, headers=admin) as r:
            assert r.status == 200, await r.text()

    return revoke


def through_other_replica(settings: Settings):
    """Revoke through a second database handle, as another replica or the CLI does."""
    db = Database.open(settings.database_url)
    signer = load_or_create_signing_key(settings.countersign_signing_key_path)

    class Replica:
        containment = Containment(db)
        ledger = Ledger(db, signer)

    Replica.db = db  # type: ignore[attr-defined]

    async def revoke(_client: aiohttp.ClientSession, victim: str) -> None:
        await asyncio.to_thread(revoke_session, Replica, victim, "bench", "cli")

    return revoke


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
    parser.add_argument(
        "--pre-only",
        action="store_true",
        help="send only PreToolUse (the decision path without the PostToolUse writes)",
    )
    args = parser.parse_args()
    if args.pre_only:
        global PHASES
        PHASES = ("PreToolUse",)
    configure_logging("WARNING", "console")
    think = args.think_ms / 1000

    runner, base = await serve(baseline_app())
    try:
        url = f"{base}/api/v1/agent/events"
        await run_sessions(url, {}, args.sessions, 5, "warm", think)
        base_pre, base_post, _ = await run_sessions(url, {}, args.sessions, args.calls, "b", think)
    finally:
        await runner.cleanup()

    github_runner, github_url = await serve(fake_github())
    with tempfile.TemporaryDirectory() as workdir:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite:///{workdir}/bench.db",
            countersign_signing_key_path=Path(workdir) / "key",
            log_level="WARNING",
            github_app_id=1,
            github_private_key=private_key_pem(),
            github_api_url=github_url,
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
            load_before = os.getloadavg()
            pre, post, elapsed = await run_sessions(
                url, agent, args.sessions, args.calls, "s", think
            )
            load_after = os.getloadavg()
            kill_api = await kill_switch(
                base, agent, args.sessions, think, through_api(base, admin)
            )
            kill_other = await kill_switch(
                base, agent, args.sessions, think, through_other_replica(settings)
            )
            entries = sum(1 for _ in services.ledger.entries(kinds=["agent_operation"]))
            policy = services.repo_policies.cached("acme/shop")
            assert policy is not None and policy.source == "repository", "repo policy not read"
        finally:
            await runner.cleanup()
            await github_runner.cleanup()

    print(
        f"{args.sessions} concurrent sessions x {args.calls} tool calls "
        f"({' + '.join(PHASES)} each, {args.think_ms:.0f} ms apart), SQLite, "
        "synchronous=FULL"
    )
    print(
        tabulate(
            [
                row("baseline: bare aiohttp handler, PreToolUse", base_pre),
                row("Countersign PreToolUse (decision)", pre),
            ]
            + (
                [
                    row("baseline: bare aiohttp handler, PostToolUse", base_post),
                    row("Countersign PostToolUse (buffered)", post),
                ]
                if post
                else []
            ),
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
    print(
        f"kill switch: revoke -> first denied PreToolUse of that session = {kill_api:.1f} ms "
        f"(admin API, this replica), {kill_other:.1f} ms (another replica / the CLI)"
    )
    print(
        "load average (1/5/15 min) before the measured run: "
        + " ".join(f"{v:.2f}" for v in load_before)
        + "; after: "
        + " ".join(f"{v:.2f}" for v in load_after)
        + f" ({os.cpu_count()} CPUs)"
    )


if __name__ == "__main__":
    asyncio.run(main())
