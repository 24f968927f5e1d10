"""The container image's contract, checked without a Docker engine (none runs here).

What the image must guarantee: dependencies install before the source is copied (a code change
does not reinstall them), it runs as a non-root user, its health check follows ``$PORT``,
nothing secret or local is sent to the build, and everything it writes — the store, the
signing key, the credentials the setup page saves — lives under ``/app/data``.  The last point
is checked by running the App with the image's environment, remapped to temporary folders.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from tests.deploy.dockerfile import REPO, env_of, instructions
from tests.server.setup_flow import handoff, route_conversion, start
from tests.support.fake_github import FAKE_API_URL


def runtime() -> list:
    return [i for i in instructions() if i.stage == "runtime"]


def test_dependencies_are_installed_before_the_source_is_copied():
    build = [i for i in instructions() if i.stage == "build"]
    steps = [f"{i.keyword} {i.argument}" for i in build]
    copy_project = next(n for n, s in enumerate(steps) if s.startswith("COPY pyproject.toml"))
    install_deps = next(n for n, s in enumerate(steps) if "pip install -r requirements.txt" in s)
    copy_source = next(n for n, s in enumerate(steps) if s.startswith("COPY github_app"))
    assert copy_project < install_deps < copy_source
    assert not any(s.startswith("COPY . ") for s in steps)


def test_runtime_stage_is_non_root_and_has_no_sources():
    users = [i.argument for i in runtime() if i.keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    copies = [i.argument for i in runtime() if i.keyword == "COPY"]
    assert copies == ["--from=build /opt/venv /opt/venv"]
    assert runtime()[-1].keyword == "CMD"


def test_healthcheck_follows_port():
    (check,) = [i.argument for i in runtime() if i.keyword == "HEALTHCHECK"]
    assert "PORT" in check and ":3000/" not in check
    assert "/healthz" in check


def test_no_secrets_in_the_image():
    env = env_of("runtime")
    assert not any(k.startswith("GITHUB_") for k in env)
    assert not any("SECRET" in k or "PASSWORD" in k for k in env)


def test_build_context_leaves_out_secrets_and_local_state():
    ignored = set((REPO / ".dockerignore").read_text().split())
    for entry in (".env", "*.pem", "*.key", "data/", ".venv/", ".git/"):
        assert entry in ignored


def test_everything_the_app_writes_is_under_the_data_volume():
    env = env_of("runtime")
    volumes = [i.argument for i in runtime() if i.keyword == "VOLUME"]
    assert volumes == ['["/app/data"]']
    assert env["COUNTERSIGN_DATA_DIR"] == "/app/data"
    assert env["DATABASE_URL"] == "sqlite:////app/data/countersign.db"
    assert env["COUNTERSIGN_SIGNING_KEY_PATH"].startswith("/app/data/")


def test_compose_runs_the_app_on_postgres_after_the_migration():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "migrate", "app"}
    assert services["migrate"]["command"] == ["countersign", "migrate"]
    assert services["app"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["app"]["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert "countersign-data:/app/data" in services["app"]["volumes"]


def _image_env(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    """The runtime ENV with /app/data moved to a temporary folder; returns env, app, data."""
    app_dir, data_dir = tmp_path / "app", tmp_path / "data"
    app_dir.mkdir()
    data_dir.mkdir()
    env = {k: v.replace("/app/data", str(data_dir)) for k, v in env_of("runtime").items()}
    env.pop("PATH")
    return env, app_dir, data_dir


async def test_setup_inside_the_image_layout_writes_only_to_the_data_folder(
    aiohttp_client, tmp_path, monkeypatch, github
):
    from github_app.config import load_settings
    from github_app.server.app import create_app

    env, app_dir, data_dir = _image_env(tmp_path)
    for key in [k for k in os.environ if k.startswith(("GITHUB_", "COUNTERSIGN_"))]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GITHUB_API_URL", FAKE_API_URL)
    monkeypatch.chdir(app_dir)  # the working directory (/app) is not written
    app_dir.chmod(0o500)  # read-only, as the image's /app is for its user
    settings = load_settings()
    assert settings.setup_mode
    client = await aiohttp_client(create_app(settings, start_worker=False))
    _, _, state = handoff(await (await start(client)).text())
    route_conversion(github)
    done = await client.get("/", params={"code": "abc", "state": state}, allow_redirects=False)
    assert done.status == 303
    await client.close()
    app_dir.chmod(0o700)
    assert list(app_dir.iterdir()) == []
    written = {p.name for p in data_dir.iterdir()}
    assert {"countersign.db", "ledger-signing.key", "countersign.env"} <= written
    assert not load_settings().setup_mode  # the restarted container reads the credentials


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_image_command_serves_and_its_healthcheck_passes_on_another_port(tmp_path):
    env, app_dir, _ = _image_env(tmp_path)
    port = str(_free_port())
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "COUNTERSIGN_"))}
    environment = base | env | {"PORT": port, "HOST": "127.0.0.1", "PYTHONPATH": str(REPO)}
    (command,) = [i.argument for i in runtime() if i.keyword == "CMD"]
    assert command == '["countersign", "serve"]'
    server = subprocess.Popen(
        [sys.executable, "-m", "github_app", "serve"],
        cwd=app_dir,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_up(port)
        (check,) = [i.argument for i in runtime() if i.keyword == "HEALTHCHECK"]
        probe = shlex.split(check.split(" CMD ", 1)[1])
        assert probe[0] == "python"
        result = subprocess.run(
            [sys.executable, *probe[1:]], env=environment, timeout=30, check=False
        )
        assert result.returncode == 0
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_until_up(port: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not come up")
