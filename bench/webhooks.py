"""Benchmark webhook intake: signed deliveries into ``POST /webhooks`` until the 202.

    .venv/bin/python bench/webhooks.py --requests 2000 --concurrency 50 200

For each backend and each number of concurrent senders it measures, in the same run:

* **bare**: an aiohttp route on the same server stack that reads the body and answers 202
  after the same HMAC check, storing nothing — the ceiling;
* **per-delivery commit**: the App's receiver with one durable transaction per delivery (what
  intake did before group commit);
* **group commit**: the App's receiver as it ships (:mod:`github_app.webhooks.intake`).

SQLite runs with ``synchronous=FULL`` in a temporary directory; PostgreSQL in a fresh schema
(``COUNTERSIGN_BENCH_DATABASE_URL``, default the local test server), dropped afterwards.  After
each App run the inbox is counted: every 202 must be a stored row ("lost" must be 0).  The
worker is not started: this measures intake, which is what GitHub waits for.  Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import aiohttp
import sqlalchemy as sa
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from github_app.app_keys import SERVICES
from github_app.config import Settings
from github_app.logs import configure_logging
from github_app.server.app import create_app
from github_app.store import tables
from github_app.webhooks.receiver import _verify_signature
from tests.support.webhooks import load_payload, signed_headers

SECRET = "bench-secret"  # noqa: S105 - a throwaway secret for a local benchmark
PG_URL = os.environ.get(
    "COUNTERSIGN_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
WARM_UP = 200


def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def bare_app() -> web.Application:
    """Read the body, check the HMAC, answer 202: everything but storing."""

    async def accept(request: web.Request) -> web.Response:
        body = await request.read()
        if _verify_signature(body, request.headers.get("X-Hub-Signature-256"), SECRET):
            return web.json_response({"error": "bad signature"}, status=401)
        return web.json_response({"status": "accepted"}, status=202)

    app = web.Application()
    app.router.add_post("/webhooks", accept)
    return app


class PerDeliveryIntake:
    """The old intake: one transaction (one fsync) per delivery, in a thread."""

    def __init__(self, inbox) -> None:
        self._inbox = inbox

    async def store(self, delivery_id, event, action, installation_id, payload, *, repo_id=None):
        return await asyncio.to_thread(
            partial(self._inbox.store, repo_id=repo_id),
            delivery_id,
            event,
            action,
            installation_id,
            payload,
        )


async def drive(
    url: str, body: bytes, requests: int, concurrency: int
) -> tuple[float, list[float]]:
    """Send ``requests`` signed deliveries, ``concurrency`` at a time; (req/s, latencies ms)."""
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(requests):
        queue.put_nowait(number)

    async def client(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            queue.get_nowait()
            headers = signed_headers("pull_request", body, SECRET, delivery_id=str(uuid.uuid4()))
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                assert response.status == 202, response.status
            latencies.append((time.perf_counter() - started) * 1000)

    connector = aiohttp.TCPConnector(limit=concurrency)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
    return requests / (time.perf_counter() - started), latencies


async def measure(
    app: web.Application, body: bytes, requests: int, concurrency: int, variant: str
) -> tuple[float, list[float], int | None]:
    """(rate, latencies, deliveries lost) for one receiver; lost is None for the bare one."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/webhooks"
    services = app.get(SERVICES)
    if variant == "per-delivery":
        services.intake = PerDeliveryIntake(services.inbox)
    try:
        await drive(url, body, WARM_UP, concurrency)
        rate, latencies = await drive(url, body, requests, concurrency)
        lost = None
        if services is not None:
            stored = await asyncio.to_thread(count_deliveries, services.db)
            lost = WARM_UP + requests - stored
        return rate, latencies, lost
    finally:
        await runner.cleanup()


def count_deliveries(db) -> int:
    query = sa.select(sa.func.count()).select_from(tables.webhook_deliveries)
    with db.connect() as conn:
        return int(conn.execute(query).scalar_one())


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@contextmanager
def database_url(backend: str, workdir: Path, run: str) -> Iterator[str]:
    """A fresh, empty database for one App run."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir}/{run}.db"
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = sa.create_engine(sa.make_url(PG_URL).set(drivername="postgresql+psycopg"))
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


async def run_app(backend, variant, body, requests, concurrency, workdir, key_pem):
    with database_url(backend, workdir, f"{variant}-{concurrency}") as url:
        settings = Settings(
            _env_file=None,
            github_app_id=1,
            github_private_key=key_pem,
            github_webhook_secret=SECRET,
            database_url=url,
            countersign_signing_key_path=workdir / "key",
            log_level="WARNING",
        )
        app = create_app(settings, start_worker=False)
        return await measure(app, body, requests, concurrency, variant)


def row(label: str, result, bare) -> list[str]:
    rate, latencies, lost = result
    bare_rate, bare_latencies, _ = bare
    p99 = percentile(latencies, 0.99)
    return [
        label,
        f"{rate:,.0f}/s",
        f"{rate / bare_rate:.2f}x",
        f"{statistics.median(latencies):.1f} ms",
        f"{p99:.1f} ms",
        f"{p99 / percentile(bare_latencies, 0.99):.2f}x",
        "-" if lost is None else str(lost),
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[50, 200])
    parser.add_argument(
        "--backend", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"]
    )
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    body = json.dumps(load_payload("pull_request", "opened.payload")).encode()
    key_pem = private_key_pem()
    print(f"{args.requests} deliveries of {len(body):,} bytes per run; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for backend in args.backend:
            for concurrency in args.concurrency:
                bare = await measure(bare_app(), body, args.requests, concurrency, "bare")
                single = await run_app(
                    backend, "per-delivery", body, args.requests, concurrency, workdir, key_pem
                )
                grouped = await run_app(
                    backend, "group", body, args.requests, concurrency, workdir, key_pem
                )
                rows = [
                    row("bare: HMAC check, 202", bare, bare),
                    row("per-delivery commit", single, bare),
                    row("group commit (shipped)", grouped, bare),
                ]
                print(f"\n{backend}, {concurrency} concurrent senders")
                headers = ["receiver", "rate", "vs bare", "p50", "p99", "p99 vs bare", "lost"]
                print(tabulate(rows, headers=headers))


if __name__ == "__main__":
    asyncio.run(main())
