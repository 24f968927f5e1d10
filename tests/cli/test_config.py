"""Settings: setup mode, one clear line for a missing or malformed variable."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from github_app.cli import main
from github_app.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for name in (
        "GITHUB_APP_ID",
        "GITHUB_PRIVATE_KEY",
        "GITHUB_PRIVATE_KEY_PATH",
        "GITHUB_WEBHOOK_SECRET",
        "DATABASE_URL",
        "PORT",
        "LOG_FORMAT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_without_an_app_id_the_app_runs_in_setup_mode():
    assert load_settings().setup_mode


def test_app_id_without_secret_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("GITHUB_APP_ID", "123")
    with pytest.raises(ConfigError, match="GITHUB_WEBHOOK_SECRET"):
        load_settings()


def test_app_id_without_key_is_refused(monkeypatch):
    monkeypatch.setenv("GITHUB_APP_ID", "123")
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "s")
    with pytest.raises(ConfigError, match="GITHUB_PRIVATE_KEY"):
        load_settings()


def test_key_file_that_is_not_pem_is_refused(monkeypatch, tmp_path):
    key = tmp_path / "key.pem"
    key.write_text("hello")
    monkeypatch.setenv("GITHUB_APP_ID", "123")
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "s")
    monkeypatch.setenv("GITHUB_PRIVATE_KEY_PATH", str(key))
    with pytest.raises(ConfigError, match="GITHUB_PRIVATE_KEY_PATH: not a PEM"):
        load_settings()


def test_malformed_port_names_the_variable(monkeypatch):
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(ConfigError, match=r"^PORT:"):
        load_settings()


def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("PORT=4000\nLOG_FORMAT=console\n")
    settings = load_settings()
    assert (settings.port, settings.log_format) == (4000, "console")


def test_serve_refuses_to_start_with_one_line(monkeypatch):
    monkeypatch.setenv("GITHUB_APP_ID", "123")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 2  # configuration error, as the README's table says
    assert result.output.strip().splitlines() == [
        "Error: configuration error: GITHUB_WEBHOOK_SECRET is required when GITHUB_APP_ID is set"
    ]


def test_a_negative_incident_write_interval_names_the_variable(monkeypatch):
    monkeypatch.setenv("COUNTERSIGN_GITHUB_INCIDENT_WRITE_INTERVAL", "-0.1")
    with pytest.raises(ConfigError, match=r"^COUNTERSIGN_GITHUB_INCIDENT_WRITE_INTERVAL:"):
        load_settings()
    monkeypatch.setenv("COUNTERSIGN_GITHUB_INCIDENT_WRITE_INTERVAL", "1")
    assert load_settings().countersign_github_incident_write_interval == 1.0
