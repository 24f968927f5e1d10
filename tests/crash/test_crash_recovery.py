"""The crash test: real ``countersign serve`` processes, ``kill -9`` mid-load, a GitHub outage.

Two replicas share one PostgreSQL schema (and, separately, one replica on SQLite is killed and
restarted).  A few hundred signed deliveries — every PR opened, pushed to, half the agent PRs
approved — go to random replicas, a quarter of them delivered twice (to the other replica, as
GitHub's redelivery would); one replica is killed with SIGKILL in the middle and started again,
and the fake GitHub (a separate process, validating every request against GitHub's OpenAPI
description) answers 502 to everything for a few seconds.  Afterwards:

* every accepted delivery was processed (``done``), the inbox quiet soon after the restart;
* each PR's head commit carries exactly one ``countersign`` check run, with the right verdict,
  and no commit carries two;
* no effect is in the ledger twice, no PR's evidence goes back to an older head, and
  ``countersign evidence verify`` passes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from github_app.ledger.checkpoints import load_or_create_signing_key
from github_app.store import Database, tables
from tests.crash.processes import REPO_ROOT, Process, base_url, fake_github, replica
from tests.support.databases import postgres_schema_url
from tests.support.fake_github import FAKE_APP_ID
from tests.support.webhooks import signed_headers

SECRET = "crash-test-secret"
SEND_CONCURRENCY = 8
DUPLICATE_SHARE = 0.25
QUIESCE_TIMEOUT_S = 120
OPENED, PUSHED, REVIEWED = "2026-11-20T10:00:00Z", "2026-11-20T10:01:00Z", "2026-11-20T10:02:00Z"


def head(number: int, generation: int) -> str:
    return f"{number:08x}{generation:032x}"


@dataclass
class Plan:
    """What the world does, PR by PR, and what each PR must show at the end."""

    prs: int
    agent: set[int] = field(default_factory=set)
    approved: set[int] = field(default_factory=set)

    @classmethod
    def make(cls, prs: int) -> Plan:
        agent = {n for n in range(1, prs + 1) if n % 2 == 0}
        return cls(prs, agent, {n for n in agent if n % 4 == 0})

    def expected(self, number: int) -> str:
        if number in self.agent and number not in self.approved:
            return "action_required"
        return "success"

    def steps(self, seed: int) -> list[tuple[int, str]]:
        """(PR, step) in a shuffled order that keeps each PR's own steps in order."""
        queues = {
            n: ["opened", "synchronize", *(["review"] if n in self.approved else [])]
            for n in range(1, self.prs + 1)
        }
        rng = random.Random(seed)
        order: list[tuple[int, str]] = []
        while queues:
            number = rng.choice(sorted(queues))
            order.append((number, queues[number].pop(0)))
            if not queues[number]:
                del queues[number]
        return order


class Load:
    """Sends the plan's deliveries to live replicas, as GitHub would."""

    def __init__(self, fake: Process, replicas: list[Process], plan: Plan, seed: int) -> None:
        self.control = base_url(fake) + "/_control"
        self.replicas = replicas
        self.live = list(replicas)
        self.plan = plan
        self.rng = random.Random(seed)
        self.accepted: set[str] = set()
        self.sent: list[tuple[str, str, bytes]] = []
        self.refused: list[tuple[str, str, bytes]] = []
        self.client = httpx.AsyncClient(timeout=30)
        self.in_flight = asyncio.Semaphore(SEND_CONCURRENCY)

    async def world(self, number: int, step: str) -> tuple[str, dict]:
        """Change the fake GitHub for ``step`` and get the delivery GitHub would send."""
        if step == "review":
            answer = await self.client.post(
                f"{self.control}/approve", json={"number": number, "updated_at": REVIEWED}
            )
            return "pull_request_review", answer.json()
        generation, updated_at = (1, OPENED) if step == "opened" else (2, PUSHED)
        body = {
            "number": number,
            "head": head(number, generation),
            "agent": number in self.plan.agent,
            "updated_at": updated_at,
            "action": step,
        }
        return "pull_request", (await self.client.post(f"{self.control}/pr", json=body)).json()

    async def deliver(self, delivery: tuple[str, str, bytes], target: Process | None = None):
        delivery_id, event, body = delivery
        target = target or self.rng.choice(self.live)
        headers = signed_headers(event, body, SECRET, delivery_id=delivery_id)
        async with self.in_flight:
            try:
                response = await self.client.post(
                    base_url(target) + "/webhooks", content=body, headers=headers
                )
            except httpx.TransportError:
                self.refused.append(delivery)  # the replica is down: GitHub redelivers later
                return
        assert response.status_code == 202, response.text
        self.accepted.add(delivery_id)

    async def send(self, steps: list[tuple[int, str]]) -> None:
        pending = []
        for number, step in steps:
            event, payload = await self.world(number, step)
            delivery = (str(uuid.uuid4()), event, json.dumps(payload).encode())
            self.sent.append(delivery)
            pending.append(asyncio.create_task(self.deliver(delivery)))
            if self.rng.random() < DUPLICATE_SHARE:  # the same delivery again, elsewhere
                pending.append(asyncio.create_task(self.deliver(self.rng.choice(self.sent))))
            await asyncio.sleep(0)
        await asyncio.gather(*pending)

    async def redeliver_refused(self) -> None:
        refused, self.refused = self.refused, []
        await asyncio.gather(*(self.deliver(delivery) for delivery in refused))
        assert not self.refused

    async def github_outage(self, seconds: float) -> None:
        await self.client.post(f"{self.control}/faults", json={"seconds": seconds})

    async def github_state(self) -> dict:
        return (await self.client.get(f"{self.control}/state")).json()


def delivery_statuses(db: Database) -> dict[str, str]:
    table = tables.webhook_deliveries
    with db.connect() as conn:
        return dict(conn.execute(sa.select(table.c.delivery_id, table.c.status)).all())


async def wait_until_quiet(db: Database, accepted: set[str]) -> float:
    """Seconds until every accepted delivery is done; fails after ``QUIESCE_TIMEOUT_S``."""
    started = time.monotonic()
    while time.monotonic() - started < QUIESCE_TIMEOUT_S:
        statuses = delivery_statuses(db)
        if all(statuses.get(delivery_id) == "done" for delivery_id in accepted):
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    waiting = Counter(statuses.get(d) for d in accepted if statuses.get(d) != "done")
    pytest.fail(f"deliveries not processed after {QUIESCE_TIMEOUT_S} s: {dict(waiting)}")


def check_the_outcome(db: Database, plan: Plan, state: dict, settings: dict[str, str]) -> None:
    assert state["violations"] == [], "the App sent requests GitHub would reject"
    runs_per_head = Counter(run["head_sha"] for run in state["check_runs"])
    assert max(runs_per_head.values()) == 1, "a commit carries several countersign runs"
    shown = {run["head_sha"]: run["conclusion"] for run in state["check_runs"]}
    wrong = {
        number: (shown.get(head(number, 2)), plan.expected(number))
        for number in range(1, plan.prs + 1)
        if shown.get(head(number, 2)) != plan.expected(number)
    }
    assert not wrong, f"PR: (shown, expected) {wrong}"
    check_the_ledger(db)
    verify = subprocess.run(
        [sys.executable, "-m", "github_app", "evidence", "verify"],
        env={**os.environ, **settings},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def check_the_ledger(db: Database) -> None:
    columns = tables.ledger_entries.c
    query = sa.select(columns.kind, columns.pr, columns.head_sha, columns.data).order_by(
        columns.seq
    )
    with db.connect() as conn:
        rows = conn.execute(query).all()
    effects = Counter()
    decisions: dict[int, list[tuple[str, str]]] = defaultdict(list)
    heads: dict[int, list[str]] = defaultdict(list)
    for kind, pr, head_sha, data in rows:
        data = json.loads(data)
        if kind == "agent_change_detected":
            effects[(kind, pr, head_sha)] += 1
        elif kind == "approval_invalidated":
            effects[(kind, pr, data["approved_sha"])] += 1
        elif kind == "approval":
            effects[(kind, pr, data["review_id"])] += 1
        if kind == "decision":
            decisions[pr].append((head_sha, data["state"]))
        if kind in ("agent_change_detected", "decision"):
            heads[pr].append(head_sha)
    assert [effect for effect, count in effects.items() if count > 1] == []
    repeated = {
        pr: states
        for pr, states in decisions.items()
        if any(a == b for a, b in itertools.pairwise(states))
    }
    assert not repeated, f"a decision entry without a change of state: {repeated}"
    backwards = {
        pr: seen
        for pr, seen in heads.items()
        if head(pr, 1) in seen[seen.index(head(pr, 2)) :]
        if head(pr, 2) in seen
    }
    assert not backwards, f"evidence went back to an older head: {backwards}"


def settings_for(database_url: str, fake: Process, directory: Path, pem: str) -> dict[str, str]:
    return {
        "GITHUB_APP_ID": str(FAKE_APP_ID),
        "GITHUB_PRIVATE_KEY": pem,
        "GITHUB_WEBHOOK_SECRET": SECRET,
        "GITHUB_API_URL": base_url(fake) + "/api/v3",
        "DATABASE_URL": database_url,
        "COUNTERSIGN_SIGNING_KEY_PATH": str(directory / "ledger-signing.key"),
        "COUNTERSIGN_CHECKPOINT_EVERY": "40",
        "COUNTERSIGN_WORKER_CONCURRENCY": "4",
        "LOG_LEVEL": "INFO",
    }


async def run_crash_test(
    database_url: str, directory: Path, pem: str, *, replicas: int, prs: int, seed: int
) -> None:
    fake = fake_github(directory)
    fake.start()
    settings = settings_for(database_url, fake, directory, pem)
    load_or_create_signing_key(Path(settings["COUNTERSIGN_SIGNING_KEY_PATH"]))  # one key, shared
    nodes = [replica(f"replica-{index}", directory, settings) for index in range(replicas)]
    db = Database.open(database_url)
    load: Load | None = None
    try:
        for node in nodes:
            node.start()
        plan = Plan.make(prs)
        steps = plan.steps(seed)
        load = Load(fake, nodes, plan, seed)
        first, second, third = steps[: len(steps) * 2 // 5], steps[len(steps) * 2 // 5 :], []
        second, third = second[: len(second) // 3], second[len(second) // 3 :]

        await load.send(first)
        victim = nodes[0]
        victim.kill_hard()  # mid-load: deliveries it had leased are left behind
        load.live = [node for node in nodes if node is not victim] or []
        if load.live:
            await load.send(second)
        else:
            for number, step in second:  # nobody is listening: GitHub will redeliver
                event, payload = await load.world(number, step)
                load.refused.append((str(uuid.uuid4()), event, json.dumps(payload).encode()))
        victim.start()  # same replica id: takes its own leases back at once
        restarted = time.monotonic()
        load.live = list(nodes)
        await load.redeliver_refused()
        await load.github_outage(6)
        await load.send(third)
        quiet_after = await wait_until_quiet(db, load.accepted)
        since_restart = time.monotonic() - restarted
        print(
            f"\n{replicas} replica(s), {len(load.sent)} deliveries "
            f"({len(load.accepted)} distinct accepted), quiet {quiet_after:.1f} s after the "
            f"last send, {since_restart:.1f} s after the restart"
        )
        state = await load.github_state()
        assert state["faults_served"] > 0, "the outage happened while the App was working"
        check_the_outcome(db, plan, state, settings)
        logs = "".join(node.log.read_text() for node in nodes)
        assert "database is locked" not in logs, "contention must be retried quietly"
        assert "leases_reclaimed" in logs or quiet_after < 30
    finally:
        if load is not None:
            await load.client.aclose()
        for node in nodes:
            node.stop()
        fake.stop()
        db.dispose()


async def test_two_replicas_on_postgresql_survive_kill_and_outage(tmp_path, app_private_key_pem):
    with postgres_schema_url() as url:
        await run_crash_test(url, tmp_path, app_private_key_pem, replicas=2, prs=80, seed=7)


async def test_one_replica_on_sqlite_survives_kill_restart_and_outage(
    tmp_path, app_private_key_pem
):
    url = f"sqlite:///{tmp_path / 'countersign.db'}"
    await run_crash_test(url, tmp_path, app_private_key_pem, replicas=1, prs=40, seed=11)
