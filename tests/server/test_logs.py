"""Structured logs: one JSON object a line, credentials redacted, stdlib records included."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from github_app.logs import configure_logging, get_logger


@pytest.fixture
def restore_logging():
    """configure_logging binds to this test's captured stderr: undo it afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_with_secrets_redacted(capsys, restore_logging):
    configure_logging("INFO", "json")
    get_logger("test").info("token_fetched", installation_token="ghs_secret", installation=7)
    logging.getLogger("alembic.runtime").info("Running upgrade %s", "0001")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["event"] == "token_fetched"
    assert lines[0]["installation_token"] == "[redacted]"
    assert lines[0]["installation"] == 7
    assert lines[1] == {**lines[1], "event": "Running upgrade 0001", "logger": "alembic.runtime"}
    assert "ghs_secret" not in json.dumps(lines)


def test_json_lines_carry_the_traceback_as_text(capsys, restore_logging):
    configure_logging("INFO", "json")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("aiohttp.server").exception("Error handling request")
        get_logger("test").exception("worker_failed")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["event"] for line in lines] == ["Error handling request", "worker_failed"]
    for line in lines:
        assert "exc_info" not in line
        assert line["exception"].startswith("Traceback (most recent call last)")
        assert line["exception"].rstrip().endswith("RuntimeError: boom")


def test_console_tracebacks_show_no_local_variables(capsys, restore_logging):
    configure_logging("INFO", "console")
    private_key = "-----BEGIN PRIVATE KEY----- do not print"  # noqa: F841 - a local in the frame
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        get_logger("test").exception("failed")
    err = capsys.readouterr().err
    assert "RuntimeError: boom" in err
    assert "do not print" not in err
