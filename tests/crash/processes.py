"""Real processes for the crash test: the fake GitHub server and ``countersign serve`` replicas."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answers(url: str, process: subprocess.Popen, log: Path) -> None:
    """Poll ``url`` until it answers 200; fail with the process's log if it dies or hangs."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{url} exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready:\n{log.read_text()[-3000:]}")


@dataclass
class Process:
    """A child process in its own process group, logging to a file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    root: str  # http://127.0.0.1:port
    ready_path: str
    process: subprocess.Popen | None = field(default=None, init=False)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_answers(self.root + self.ready_path, self.process, self.log)

    def kill_hard(self) -> None:
        """``kill -9``: no shutdown, no cleanup, leases left behind."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill_hard()


def fake_github(directory: Path) -> Process:
    port = free_port()
    return Process(
        "fake-github",
        [sys.executable, "-m", "tests.support.fake_github_server", "--port", str(port)],
        {**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        directory / "fake-github.log",
        f"http://127.0.0.1:{port}",
        "/_control/state",
    )


def replica(name: str, directory: Path, settings: dict[str, str]) -> Process:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "COUNTERSIGN_"))},
        **settings,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "COUNTERSIGN_REPLICA_ID": name,
        "LOG_FORMAT": "json",
        # The fake GitHub has no secondary rate limit; pacing writes 1 s apart would make the
        # test measure the pacing, not recovery.
        "COUNTERSIGN_GITHUB_WRITE_INTERVAL": "0.02",
    }
    return Process(
        name,
        [sys.executable, "-m", "github_app", "serve"],
        env,
        directory / f"{name}.log",
        f"http://127.0.0.1:{port}",
        "/readyz",
    )


def base_url(process: Process) -> str:
    """Where ``process`` listens."""
    return process.root
