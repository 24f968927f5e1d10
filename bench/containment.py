"""Benchmark a freeze across many open agent PRs against a fake GitHub with 50 ms latency.

    .venv/bin/python bench/containment.py --prs 1000 --repos 50 --passing 150 --time-scale 10

A local aiohttp server plays GitHub (every answer after ``--latency-ms``); the App's real
containment job runs against it with the real GitHub client (its per-installation throttle
included), on a SQLite store seeded with the last decision of every PR (``--passing`` of them
passing, with their check run ids).  Two approaches are measured in the same run:

* **old**: repository by repository, PR by PR (the sweep before issue 10), writes unpaced;
* **shipped**: passing PRs found in the store and flipped first at the incident pace (writes
  0.34 s apart: 176 a minute, under the 180 check-run updates a minute GitHub's published point
  limit allows), then the rest, concurrently, writes 1 s apart;
* **one-second** (with ``--approach``): the same with every write 1 s apart (what the release
  before the incident pace did, and what ``COUNTERSIGN_GITHUB_INCIDENT_WRITE_INTERVAL=1`` does).

To finish in minutes the whole run is simulated ``--time-scale`` times faster: latency and
write gap are divided by it and every time printed is multiplied back (CPU time is not scaled,
so the shipped figures are if anything pessimistic).  The fake records when each check run
write arrived; the table shows when the last passing PR was blocked, when every PR was
consistent, and the most writes seen in any 60 s window.  Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from github_app.config import Settings
from github_app.github.client import GitHubClient
from github_app.github.throttle import ThrottlePolicy
from github_app.jobs.containment_sweep import contain_everywhere
from github_app.jobs.installations import for_each_repository
from github_app.jobs.sweep import sweep_repository
from github_app.logs import configure_logging
from github_app.services import Services
from github_app.state.decisions import PrRecord

OWNER = "acme"
AGENT_MESSAGE = "Fix\n\nCo-Authored-By: Claude <noreply@anthropic.com>\nAgent-Session-Id: s-1"
WINDOW = 60.0
WRITE_INTERVALS = {"old": 0.0, "shipped": 1.0, "one-second": 1.0}  # seconds between writes
INCIDENT_INTERVALS = {"shipped": 0.34, "one-second": 1.0}  # while the passing checks flip


def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass
class World:
    """The fake GitHub's state: repositories, PRs, and the writes it received."""

    repos: int
    prs_per_repo: int
    latency: float
    writes: list[tuple[float, int, str]] = field(default_factory=list)  # (time, run id, concl.)
    started: float = 0.0
    ids: itertools.count = field(default_factory=lambda: itertools.count(10**6))

    def run_id(self, repo: int, number: int) -> int:
        return repo * 10_000 + number

    def repo_json(self, repo: int) -> dict:
        return {
            "id": 500 + repo,
            "name": f"r{repo}",
            "full_name": f"{OWNER}/r{repo}",
            "private": True,
            "default_branch": "main",
            "owner": {"login": OWNER, "id": 1, "type": "Organization"},
        }

    def pr_json(self, repo: int, number: int) -> dict:
        sha = f"{repo:020d}{number:020d}"
        return {
            "number": number,
            "id": self.run_id(repo, number),
            "title": "agent change",
            "body": "",
            "state": "open",
            "user": {"login": "octo-dev", "id": 5001, "type": "User"},
            "head": {"ref": f"agent/{number}", "sha": sha},
            "base": {"ref": "main", "sha": "b" * 40, "repo": self.repo_json(repo)},
            "labels": [],
            "assignees": [],
            "draft": False,
            "commits": 1,
            "changed_files": 1,
            "updated_at": "2026-12-01T10:00:00Z",
        }


def fake_github(world: World) -> web.Application:
    async def answer(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(world.latency)
        path, method = request.path, request.method
        parts = path.strip("/").split("/")
        if method == "POST" and path.endswith("/access_tokens"):
            return web.json_response(
                {"token": "ghs_bench", "expires_at": "2099-01-01T00:00:00Z"}, status=201
            )
        if path == "/app/installations":
            return web.json_response([{"id": 1, "account": {"login": OWNER}}])
        if path == "/installation/repositories":
            repos = [world.repo_json(r) for r in range(world.repos)]
            return web.json_response({"total_count": len(repos), "repositories": repos})
        if parts[0] != "repos" or parts[1] != OWNER or not parts[2].startswith("r"):
            return web.json_response({"message": "Not Found"}, status=404)
        repo = int(parts[2][1:])
        rest = parts[3:]
        if rest == ["pulls"]:
            return web.json_response(
                [world.pr_json(repo, n) for n in range(1, world.prs_per_repo + 1)]
            )
        if rest[:1] == ["pulls"] and len(rest) == 2:
            return web.json_response(world.pr_json(repo, int(rest[1])))
        if rest[:1] == ["pulls"] and rest[2] == "commits":
            sha = world.pr_json(repo, int(rest[1]))["head"]["sha"]
            author = {"login": "octo-dev", "id": 5001, "type": "User"}
            who = {"name": "O", "email": "o@x", "date": "2026-12-01T10:00:00Z"}
            commit = {"message": AGENT_MESSAGE, "author": who, "committer": who}
            listed = {"sha": sha, "commit": commit, "author": author, "committer": author}
            return web.json_response([{**listed, "parents": []}])
        if rest[:1] == ["pulls"] and rest[2] == "files":
            return web.json_response([{"filename": "src/app.py", "status": "modified"}])
        if rest[:1] == ["pulls"] and rest[2] == "reviews":
            return web.json_response([])
        if rest[:1] == ["check-runs"] and method == "PATCH":
            body = await request.json()
            world.writes.append((time.perf_counter(), int(rest[1]), body.get("conclusion")))
            return web.json_response({"id": int(rest[1])})
        if rest == ["check-runs"] and method == "POST":
            body = await request.json()
            run = next(world.ids)
            world.writes.append((time.perf_counter(), run, body.get("conclusion")))
            return web.json_response({"id": run}, status=201)
        if rest[:1] == ["contents"]:
            content = base64.b64encode(b"").decode()
            return web.json_response({"message": "Not Found", "content": content}, status=404)
        return web.json_response({"message": "Not Found"}, status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


async def finish_or_stop(work, world: World, passing: set[int], stop: bool) -> float | None:
    """Run the containment to its end (when it ended), or, with ``stop``, only until every
    passing PR is blocked (``None``: the rest was not waited for)."""
    task = asyncio.ensure_future(work)
    while stop and not task.done():
        flipped = {run for _, run, c in world.writes if c == "failure"} & passing
        if flipped == passing:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return None
        await asyncio.sleep(0.05)
    await task
    return time.perf_counter()


async def one_run(args, approach: str, workdir: Path, key: str) -> dict:
    scale = args.time_scale
    world = World(args.repos, args.prs // args.repos, args.latency_ms / 1000 / scale)
    runner = web.AppRunner(fake_github(world), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    settings = Settings(
        _env_file=None,
        github_app_id=1,
        github_private_key=key,
        github_webhook_secret="bench",  # noqa: S106 - local benchmark
        github_api_url=f"http://127.0.0.1:{port}",
        database_url=f"sqlite:///{workdir}/{approach}.db",
        countersign_signing_key_path=workdir / f"{approach}.key",
        log_level="WARNING",
    )
    pacing = ThrottlePolicy(
        write_interval=WRITE_INTERVALS[approach] / scale,
        incident_write_interval=INCIDENT_INTERVALS.get(approach, 0.0) / scale,
    )
    github = GitHubClient(
        app_id=1, private_key=key, base_url=settings.github_api_url, throttle=pacing
    )
    services = await Services.start(settings, github=github)
    passing = set()
    every = [(r, n) for r in range(world.repos) for n in range(1, world.prs_per_repo + 1)]
    step = max(1, len(every) // args.passing)
    for index, (repo, number) in enumerate(every):
        state = "approved" if index % step == 0 and len(passing) < args.passing else "pending"
        if state == "approved":
            passing.add(world.run_id(repo, number))
        sha = world.pr_json(repo, number)["head"]["sha"]
        record = PrRecord(500 + repo, number, sha, state, world.run_id(repo, number))
        await asyncio.to_thread(services.decisions.put, record)
    services.containment.freeze(None, "bench incident", "secops")
    world.started = time.perf_counter()
    if approach != "old":
        work = contain_everywhere(services)
    else:
        work = for_each_repository(services, partial(sweep_repository, force=True))
    try:
        finished = await finish_or_stop(work, world, passing, args.stop_when_blocked)
    finally:
        await services.close()
        await runner.cleanup()
    blocked = [t for t, run, c in world.writes if run in passing and c == "failure"]
    flipped = {run for _, run, c in world.writes if run in passing and c == "failure"}
    times = sorted((t - world.started) * scale for t, _, _ in world.writes)
    peak = max(
        (sum(1 for u in times[i:] if u - t < WINDOW) for i, t in enumerate(times)), default=0
    )
    return {
        "approach": approach,
        "passing blocked": len(flipped),
        "last passing blocked": (max(blocked) - world.started) * scale if blocked else float("nan"),
        "all consistent": None if finished is None else (finished - world.started) * scale,
        "writes": len(world.writes),
        "peak writes / 60 s": peak,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=1000)
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--passing", type=int, default=150)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--time-scale", type=float, default=10.0)
    parser.add_argument(
        "--stop-when-blocked",
        action="store_true",
        help="end each run once every passing PR is blocked (makes --time-scale 1 affordable)",
    )
    parser.add_argument(
        "--approach", nargs="+", choices=sorted(WRITE_INTERVALS), default=["old", "shipped"]
    )
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    key = private_key_pem()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for approach in args.approach:
            result = await one_run(args, approach, Path(tmp), key)
            rows.append(
                [
                    result["approach"],
                    f"{result['passing blocked']}/{args.passing}",
                    f"{result['last passing blocked']:.1f} s",
                    "(stopped)"
                    if result["all consistent"] is None
                    else f"{result['all consistent']:.1f} s",
                    result["writes"],
                    result["peak writes / 60 s"],
                ]
            )
    print(
        f"{args.prs} open agent PRs in {args.repos} repositories, {args.passing} passing; "
        f"GitHub latency {args.latency_ms:.0f} ms; simulated {args.time_scale:g}x faster"
    )
    headers = [
        "approach",
        "blocked",
        "last passing blocked",
        "all consistent",
        "writes",
        "peak writes/60 s",
    ]
    print(tabulate(rows, headers=headers))


if __name__ == "__main__":
    asyncio.run(main())
