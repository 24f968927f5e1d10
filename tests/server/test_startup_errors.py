"""`countersign serve` explains every start-up failure a user can cause in one line.

Run as a subprocess, as an operator would: the output is one ``Error: cannot start: …`` line
(exit status 4) unless ``LOG_LEVEL=DEBUG`` asks for the traceback.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

COMMAND = [sys.executable, "-m", "github_app", "serve"]
REPO_ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "COUNTERSIGN_", "DATABASE_URL", "LOG_"))
    }
    env.update(
        {
            "PYTHONPATH": str(REPO_ROOT),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'cs.db'}",
            "COUNTERSIGN_SIGNING_KEY_PATH": str(tmp_path / "data" / "signing.key"),
            "HOST": "127.0.0.1",
            "PORT": str(_free_port()),
            "LOG_FORMAT": "json",
        }
    )
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        COMMAND,
        env=_env(tmp_path, **extra),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if not line.startswith("{")]


def test_port_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve(tmp_path, PORT=str(port))
    assert result.returncode == 4
    assert _error_lines(result) == [
        f"Error: cannot start: port {port} on 127.0.0.1 is already in use "
        "(stop the other process or set PORT)"
    ]
    assert "Traceback" not in result.stderr


def test_unreachable_postgres(tmp_path):
    url = f"postgresql://countersign:pw@127.0.0.1:{_free_port()}/countersign"
    result = _serve(tmp_path, DATABASE_URL=url)
    assert result.returncode == 4
    lines = _error_lines(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        "Error: cannot start: database unreachable at postgresql://countersign:***@127.0.0.1:"
    )
    assert "check DATABASE_URL" in lines[0]
    assert "pw@" not in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_signing_key(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "signing.key").write_text("not a key\n")
    result = _serve(tmp_path)
    assert result.returncode == 4
    assert _error_lines(result) == [
        "Error: cannot start: bad key file or setting: "
        f"{tmp_path / 'data' / 'signing.key'} is not an unencrypted PEM private key"
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_data_folder_not_writable(tmp_path):
    (tmp_path / "data").mkdir(mode=0o500)
    result = _serve(tmp_path)
    assert result.returncode == 4
    lines = _error_lines(result)
    assert len(lines) == 1 and "permission denied" in lines[0]


def test_signing_key_path_is_a_directory(tmp_path):
    (tmp_path / "data" / "signing.key").mkdir(parents=True)
    result = _serve(tmp_path)
    assert result.returncode == 4
    lines = _error_lines(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: cannot start: ")
    assert "signing.key" in lines[0]


def test_debug_level_shows_the_traceback_in_the_json_log(tmp_path):
    url = f"postgresql://countersign@127.0.0.1:{_free_port()}/countersign"
    result = _serve(tmp_path, DATABASE_URL=url, LOG_LEVEL="DEBUG")
    assert result.returncode == 4
    assert '"exception": "Traceback (most recent call last)' in result.stderr


def test_listening_and_shutdown_are_logged(tmp_path):
    import json

    env = _env(tmp_path)
    process = subprocess.Popen(COMMAND, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            lines.append(line)
            if '"listening"' in line:
                break
        listening = json.loads(lines[-1])
        assert listening["address"] == f"http://127.0.0.1:{env['PORT']}"
    finally:
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=30)
    events = [json.loads(line)["event"] for line in rest.splitlines() if line.startswith("{")]
    assert events[-2:] == ["shutting_down", "stopped"]
    assert process.returncode == 0


def test_permission_problems_name_the_data_folder(tmp_path):
    # Run as root here, so the file system cannot refuse: the wording is checked directly.
    from github_app.config import Settings
    from github_app.server.run import describe_startup_failure

    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'd' / 'cs.db'}")
    error = PermissionError(13, "Permission denied", str(tmp_path / "d" / "cs.db"))
    message = describe_startup_failure(error, settings)
    assert message.startswith(f"permission denied: {tmp_path / 'd' / 'cs.db'}")
    assert f"the data folder ({tmp_path / 'd'})" in message
