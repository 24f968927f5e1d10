"""Benchmark webhook intake: signed deliveries into ``POST /webhooks`` until the 202.

    .venv/bin/python bench/webhooks.py --requests 2000 --concurrency 8

Measures the App's real receiver (signature check, JSON check, durable insert into the SQLite
inbox with ``synchronous=FULL``, 202) against a baseline measured in the same run: an aiohttp
route on the same server stack that reads the body and answers 202 without checking or storing
anything.  Both are driven over loopback by the same client.  The worker is not started: this
measures intake, which is what GitHub waits for.  Not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from github_app.config import Settings
from github_app.logs import configure_logging
from github_app.server.app import create_app
from tests.support.webhooks import load_payload, signed_headers

SECRET = "bench-secret"  # noqa: S105 - a throwaway secret for a local benchmark


def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def baseline_app() -> web.Application:
    async def accept(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"status": "accepted"}, status=202)

    app = web.Application()
    app.router.add_post("/webhooks", accept)
    return app


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

    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
    return requests / (time.perf_counter() - started), latencies


async def measure(app: web.Application, body: bytes, args: argparse.Namespace) -> tuple:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/webhooks"
    try:
        await drive(url, body, min(200, args.requests), args.concurrency)  # warm up
        return await drive(url, body, args.requests, args.concurrency)
    finally:
        await runner.cleanup()


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    body = json.dumps(load_payload("pull_request", "opened.payload")).encode()
    with tempfile.TemporaryDirectory() as workdir:
        settings = Settings(
            _env_file=None,
            github_app_id=1,
            github_private_key=private_key_pem(),
            github_webhook_secret=SECRET,
            database_url=f"sqlite:///{workdir}/bench.db",
            countersign_signing_key_path=Path(workdir) / "key",
            log_level="WARNING",
        )
        app_rate, app_latency = await measure(create_app(settings, start_worker=False), body, args)
    base_rate, base_latency = await measure(baseline_app(), body, args)
    rows = [
        [
            "baseline: read body, answer 202",
            f"{base_rate:,.0f}/s",
            f"{statistics.median(base_latency):.2f} ms",
            f"{percentile(base_latency, 0.99):.2f} ms",
        ],
        [
            "Countersign: verify, store durably, 202",
            f"{app_rate:,.0f}/s",
            f"{statistics.median(app_latency):.2f} ms",
            f"{percentile(app_latency, 0.99):.2f} ms",
        ],
    ]
    print(f"{args.requests} deliveries of {len(body):,} bytes, {args.concurrency} at a time")
    print(tabulate(rows, headers=["receiver", "rate", "p50", "p99"]))
    print(f"intake rate = {app_rate / base_rate:.2f}x the baseline")


if __name__ == "__main__":
    asyncio.run(main())
