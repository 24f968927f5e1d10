"""Benchmark agent hook decisions: ``POST /api/v1/agent/events`` at N concurrent sessions.

    .venv/bin/python bench/agent_hooks.py --sessions 50 --calls 40

Three processes, as in production: the load generator (this process, one aiohttp client for
every session), the App (``--serve app``: ``create_app`` with its background jobs, SQLite with
``synchronous=FULL``) and a local stand-in for GitHub (``--serve github``) that serves
``acme/shop``'s ``.github/countersign.yml``.  The baseline is a bare aiohttp handler in its own
process (``--serve baseline``) that parses the same JSON and answers the same allow JSON without
checking or storing anything, driven by the same client in the same run.  Client and servers do
not share a GIL or an event loop, so neither's work shows up as the other's latency.

Each simulated session sends what Claude Code sends for every tool call — a ``PreToolUse``
(answered allow/deny: the decision latency the agent waits for) and a ``PostToolUse`` (stored in
the durable operation buffer before its 200, flushed to the ledger every 50 operations) —
``--calls`` times, all ``--sessions`` at once.  The App runs for real: agent-token
authentication, the access log, the revocation and freeze state (in memory, re-validated by the
poller), the repository's effective policy (read through the App's installation, cached per
repository and head) with four path rules.

Then the kill switch, twice, while the other sessions keep working: an admin revokes a working
session through ``POST /api/v1/sessions/{id}/revoke`` (the App's own API), then another session
is revoked through a second database handle in this process, as another replica or the CLI
would.  What is measured: from the moment the revocation request is *sent* (the admin API call
starts, or the other handle's transaction begins) to the arrival of the deny answer of the
session's first ``PreToolUse`` *sent after that moment*; the deny must name the revocation (any
other denial aborts the bench).  Also counted: answers that still allowed a call sent after the
revocation had *returned* (must be 0 for the admin API).  Target under 1 s.
``uptime``'s load average is printed with the figures.  Not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import signal
import statistics
import subprocess
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


REVOKED = "was revoked"  # what the deny reason of a revoked session says


async def kill_switch(base: str, agent: dict, sessions: int, think: float, revoke) -> dict:
    """Revoke one working session under load (``revoke(client, victim)`` returns when the
    revocation is done); the figures described in the module docstring."""
    victim = f"victim-{time.time_ns()}"
    url = f"{base}/api/v1/agent/events"
    marks: dict[str, float] = {}
    late_allows: list[float] = []  # calls sent after the revocation returned, still allowed
    stop = asyncio.Event()

    async def victim_loop(client: aiohttp.ClientSession) -> None:
        number = 0
        while not stop.is_set():
            sent = time.perf_counter()
            body = event("PreToolUse", victim, number)
            async with client.post(url, json=body, headers=agent) as r:
                answer = await r.json()
            received = time.perf_counter()
            output = answer["hookSpecificOutput"]
            if output["permissionDecision"] == "deny":
                reason = output["permissionDecisionReason"]
                if REVOKED not in reason:
                    raise SystemExit(f"bench: the victim was denied for another reason: {reason}")
                if "start" not in marks:
                    raise SystemExit("bench: the victim was denied before its revocation")
                if sent >= marks["start"]:
                    marks["denied"] = received
                    stop.set()
            elif "returned" in marks and sent >= marks["returned"]:
                late_allows.append(sent)
            number += 1
            await asyncio.sleep(0.002)  # an agent between tool calls (a real one: seconds)

    async def load(client: aiohttp.ClientSession, session: str) -> None:
        number = 0
        while not stop.is_set():
            body = event("PreToolUse", session, number)
            async with client.post(url, json=body, headers=agent) as r:
                await r.read()
            number += 1
            await asyncio.sleep(think)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as client:
        tasks = [asyncio.create_task(victim_loop(client))]
        tasks += [asyncio.create_task(load(client, f"load-{n}")) for n in range(sessions - 1)]
        await asyncio.sleep(1.0)
        marks["start"] = time.perf_counter()
        await revoke(client, victim)
        marks["returned"] = time.perf_counter()
        await asyncio.wait_for(stop.wait(), timeout=30)
        await asyncio.gather(*tasks)
    return {
        "from_start_ms": (marks["denied"] - marks["start"]) * 1000,
        "revoke_ms": (marks["returned"] - marks["start"]) * 1000,
        "late_allows": len(late_allows),
    }


def through_api(base: str, admin: dict):
    """Revoke through the App's admin API."""

    async def revoke(client: aiohttp.ClientSession, victim: str) -> None:
        url = f"{base}/api/v1/sessions/{victim}/revoke"
        async with client.post(url, json={"reason": "bench"}, headers=admin) as r:
            assert r.status == 200, await r.text()

    return revoke


def through_other_replica(database_url: str, key_path: Path):
    """Revoke through a second database handle (this process), as another replica or the CLI."""
    db = Database.open(database_url)
    signer = load_or_create_signing_key(key_path)

    class Replica:
        containment = Containment(db)
        ledger = Ledger(db, signer)

    Replica.db = db  # type: ignore[attr-defined]

    async def revoke(_client: aiohttp.ClientSession, victim: str) -> None:
        await asyncio.to_thread(revoke_session, Replica, victim, "bench", "cli")

    return revoke


# --- the server processes ------------------------------------------------------------------


async def serve_forever(app: web.Application, ready: dict) -> None:
    """Serve ``app`` on a free port, print ``ready`` + its URL as one JSON line, run until
    SIGTERM."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    url = f"http://127.0.0.1:{port}"
    print(json.dumps({"url": url, **ready(app)}), flush=True)
    await stopped.wait()
    await runner.cleanup()


def app_settings(workdir: str, github_url: str) -> Settings:
    return Settings(
        _env_file=None,
        database_url=f"sqlite:///{workdir}/bench.db",
        countersign_signing_key_path=Path(workdir) / "key",
        log_level="WARNING",
        github_app_id=1,
        github_private_key=private_key_pem(),
        github_api_url=github_url,
    )


def countersign_app(workdir: str, github_url: str) -> tuple[web.Application, object]:
    """The App as ``countersign serve`` runs it (background jobs included), with the bench's
    org policy; ``ready`` makes an agent and an admin token once it has started."""
    app = create_app(app_settings(workdir, github_url))

    def ready(app: web.Application) -> dict:
        services = app[SERVICES]
        services.default_policy = POLICY
        tokens = TokenStore(services.db)
        return {
            "agent": tokens.create("bench", "agent", login="dev")[1],
            "admin": tokens.create("ops", "admin")[1],
        }

    return app, ready


def serve_role(role: str, workdir: str | None, github_url: str | None) -> None:
    configure_logging("WARNING", "console")
    if role == "app":
        assert workdir and github_url
        app, ready = countersign_app(workdir, github_url)
    else:
        app, ready = (fake_github() if role == "github" else baseline_app()), lambda _app: {}
    profile = os.environ.get("COUNTERSIGN_BENCH_PROFILE") if role == "app" else None
    if not profile:
        asyncio.run(serve_forever(app, ready))
        return
    import cProfile  # the App's event loop thread, to see where a decision's time goes

    cProfile.runctx("asyncio.run(serve_forever(app, ready))", globals(), locals(), profile)


class Server:
    """One ``--serve ROLE`` child process; ``info`` is what it printed when ready."""

    def __init__(self, *args: str) -> None:
        command = [sys.executable, str(Path(__file__).resolve()), "--serve", *args]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line:
            raise SystemExit(f"bench: {args[0]} did not start")
        self.info = json.loads(line)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


# --- figures -------------------------------------------------------------------------------


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


async def probe(url: str, agent: dict, path: str) -> str:
    """The decision on a Write to ``path`` (proves the repository's own rule is applied)."""
    body = {
        **event("PreToolUse", "probe", 0),
        "tool_name": "Write",
        "tool_input": {"file_path": path, "content": "x"},
    }
    async with aiohttp.ClientSession() as client, client.post(url, json=body, headers=agent) as r:
        return (await r.json())["hookSpecificOutput"]["permissionDecision"]


async def measure_baseline(args: argparse.Namespace, think: float) -> tuple[list, list]:
    baseline = Server("baseline")
    try:
        url = f"{baseline.info['url']}/api/v1/agent/events"
        await run_sessions(url, {}, args.sessions, 5, "warm", think)
        pre, post, _ = await run_sessions(url, {}, args.sessions, args.calls, "b", think)
    finally:
        baseline.stop()
    return pre, post


async def measure_app(args: argparse.Namespace, think: float, workdir: str) -> dict:
    github = Server("github")
    app = Server("app", "--workdir", workdir, "--github", github.info["url"])
    try:
        base = app.info["url"]
        agent = {"Authorization": "Bearer " + app.info["agent"]}
        admin = {"Authorization": "Bearer " + app.info["admin"]}
        url = f"{base}/api/v1/agent/events"
        await run_sessions(url, agent, args.sessions, 5, "warm", think)
        load_before = os.getloadavg()
        pre, post, elapsed = await run_sessions(url, agent, args.sessions, args.calls, "s", think)
        load_after = os.getloadavg()
        kill_api = await kill_switch(base, agent, args.sessions, think, through_api(base, admin))
        other = through_other_replica(f"sqlite:///{workdir}/bench.db", Path(workdir) / "key")
        kill_other = await kill_switch(base, agent, args.sessions, think, other)
        repo_rule = await probe(url, agent, "/home/dev/shop/infra/prod/main.tf")
        assert repo_rule == "deny", "the repository's own policy was not applied"
    finally:
        app.stop()
        github.stop()
    db = Database.open(f"sqlite:///{workdir}/bench.db")
    entries = sum(1 for _ in Ledger(db, None).entries(kinds=["agent_operation"]))
    return {
        "pre": pre,
        "post": post,
        "elapsed": elapsed,
        "load": (load_before, load_after),
        "kill": (kill_api, kill_other),
        "entries": entries,
    }


def report(args: argparse.Namespace, base_pre: list, base_post: list, run: dict) -> None:
    pre, post = run["pre"], run["post"]
    print(
        f"{args.sessions} concurrent sessions x {args.calls} tool calls "
        f"({' + '.join(PHASES)} each, {args.think_ms:.0f} ms apart), SQLite, "
        "synchronous=FULL; client, App, GitHub stand-in and baseline in separate processes"
    )
    rows = [
        row("baseline: bare aiohttp handler, PreToolUse", base_pre),
        row("Countersign PreToolUse (decision)", pre),
    ]
    if post:
        rows += [
            row("baseline: bare aiohttp handler, PostToolUse", base_post),
            row("Countersign PostToolUse (stored)", post),
        ]
    print(tabulate(rows, headers=["endpoint", "calls", "p50", "p99"]))
    calls = len(pre) + len(post)
    print(
        f"decision p99 = {percentile(pre, 0.99):.2f} ms "
        f"({percentile(pre, 0.99) / percentile(base_pre, 0.99):.1f}x the baseline's "
        f"{percentile(base_pre, 0.99):.2f} ms); {calls / run['elapsed']:,.0f} hook calls/s; "
        f"{run['entries']} agent_operation entries for "
        f"{len(post) + (5 * args.sessions if post else 0):,} operations"
    )
    for label, kill in zip(("admin API", "another replica / the CLI"), run["kill"], strict=True):
        print(
            f"kill switch ({label}): revocation sent -> deny of the session's first "
            f"PreToolUse sent after it = {kill['from_start_ms']:.1f} ms (the revocation "
            f"itself took {kill['revoke_ms']:.1f} ms; calls sent after it returned and still "
            f"allowed: {kill['late_allows']})"
        )
    before, after = run["load"]
    print(
        "load average (1/5/15 min) before the measured run: "
        + " ".join(f"{v:.2f}" for v in before)
        + "; after: "
        + " ".join(f"{v:.2f}" for v in after)
        + f" ({os.cpu_count()} CPUs)"
    )


async def bench(args: argparse.Namespace) -> None:
    think = args.think_ms / 1000
    base_pre, base_post = await measure_baseline(args, think)
    with tempfile.TemporaryDirectory() as workdir:
        run = await measure_app(args, think, workdir)
    report(args, base_pre, base_post, run)


def main() -> None:
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
    parser.add_argument("--serve", choices=("app", "github", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--github", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_role(args.serve, args.workdir, args.github)
        return
    if args.pre_only:
        global PHASES
        PHASES = ("PreToolUse",)
    configure_logging("WARNING", "console")
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
