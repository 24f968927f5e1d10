"""Benchmark start-up: from process start to the first 200 on ``/healthz`` of ``serve``.

    .venv/bin/python bench/startup.py --runs 5

Starts ``countersign serve`` (a fresh SQLite store each run, a generated App key, port 0 is
not offered by ``serve`` so a free port is picked first) and polls ``/healthz`` every 5 ms;
the baseline, measured in the same run, is a bare aiohttp app that answers ``/healthz`` (same
interpreter, same polling).  A third line, the floor, is the bare app after importing the
libraries ``serve`` cannot listen without (click, pydantic-settings, SQLAlchemy, structlog):
what is left above it is Countersign's own start-up.  Prints median and spread.  Not a test.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

BARE = """
from aiohttp import web
async def ok(_r):
    return web.json_response({"status": "ok"})
app = web.Application()
app.router.add_get("/healthz", ok)
web.run_app(app, host="127.0.0.1", port=int(__import__("sys").argv[1]), print=None)
"""

# The libraries the path to the listener needs: the command line, settings, the store, logs.
FLOOR = "import click, pydantic_settings, sqlalchemy, structlog\n" + BARE


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def time_to_healthy(command: list[str], port: int, env: dict[str, str]) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and entry point
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"exited early: {process.stderr.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.005)
    finally:
        process.terminate()
        process.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    countersign = str(Path(sys.executable).with_name("countersign"))
    app_times, bare_times, floor_times = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        key_path = Path(tmp) / "app.pem"
        key_path.write_bytes(key)
        for run in range(args.runs):
            port = free_port()
            env = {
                **os.environ,
                "GITHUB_APP_ID": "1",
                "GITHUB_PRIVATE_KEY_PATH": str(key_path),
                "GITHUB_WEBHOOK_SECRET": "bench",
                "DATABASE_URL": f"sqlite:///{tmp}/run{run}.db",
                "COUNTERSIGN_SIGNING_KEY_PATH": f"{tmp}/ledger{run}.key",
                "PORT": str(port),
                "HOST": "127.0.0.1",
                "LOG_LEVEL": "WARNING",
            }
            app_times.append(time_to_healthy([countersign, "serve"], port, env))
            port = free_port()
            bare_times.append(time_to_healthy([sys.executable, "-c", BARE, str(port)], port, env))
            port = free_port()
            floor_times.append(time_to_healthy([sys.executable, "-c", FLOOR, str(port)], port, env))
    for label, times in (
        ("countersign serve", app_times),
        ("bare aiohttp app", bare_times),
        ("floor (libraries)", floor_times),
    ):
        print(
            f"{label:18} median {statistics.median(times):.2f} s "
            f"(min {min(times):.2f}, max {max(times):.2f}, {len(times)} runs)"
        )


if __name__ == "__main__":
    main()
