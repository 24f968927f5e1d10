"""``countersign hook …``: the agent-side hooks and their installation.

``hook claude-code`` and ``hook git-trailers`` run through :mod:`github_app.hook_client`'s
standard-library path when started as ``countersign`` (fast start); the click commands here are
the same code for ``python -m github_app`` and click's test runner.  ``hook install`` prints the
Claude Code settings block (or merges it into a settings file) from
:mod:`github_app.sessions.settings`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import click

from github_app import hook_client
from github_app.sessions.settings import MANAGED_SETTINGS_PATHS, merge_settings, settings_block


@click.group()
def hook() -> None:
    """Agent hooks: send an agent's sessions through Countersign."""


@hook.command("claude-code")
def claude_code_command() -> None:
    """Claude Code command hook: hook JSON on stdin; exit 2 (reason on stderr) denies.

    Needs COUNTERSIGN_URL and COUNTERSIGN_AGENT_TOKEN (optional COUNTERSIGN_REPO); denies when
    Countersign cannot be reached unless COUNTERSIGN_HOOK_FAIL_OPEN=1.
    """
    sys.exit(hook_client.claude_code_hook(sys.stdin.buffer, sys.stdout, sys.stderr, os.environ))


@hook.command("git-trailers")
@click.argument("message_file")
@click.argument("source", required=False, default="")
@click.argument("sha", required=False, default="")
def git_trailers_command(message_file: str, source: str, sha: str) -> None:
    """prepare-commit-msg hook: stamp Agent-Session-Id and Agent-Launched-By (once)."""
    args = [message_file, source, sha] if sha else [message_file, source]
    sys.exit(hook_client.git_trailers(args, sys.stderr, os.environ))


@hook.command("install")
@click.option(
    "--form",
    type=click.Choice(["command", "http"]),
    default="command",
    show_default=True,
    help="command: `countersign hook claude-code`; http: Claude Code posts to Countersign.",
)
@click.option("--url", envvar="COUNTERSIGN_URL", help="Countersign's URL (the http form).")
@click.option("--repo", help="OWNER/REPO to report with every event (the http form).")
@click.option(
    "--merge",
    "merge_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Merge into this settings.json (created if missing) instead of printing.",
)
def install_command(form: str, url: str | None, repo: str | None, merge_file: Path | None) -> None:
    """Print (or merge) the Claude Code settings block that fails closed.

    Install it in the managed settings so it cannot be removed: Linux
    /etc/claude-code/managed-settings.json, macOS /Library/Application
    Support/ClaudeCode/managed-settings.json, Windows C:\\Program
    Files\\ClaudeCode\\managed-settings.json.
    """
    try:
        block = settings_block(form, url=url, repo=repo)  # type: ignore[arg-type]
    except ValueError as error:  # a missing option: a usage error (exit 2)
        raise click.UsageError(str(error)) from None
    if merge_file is None:
        click.echo(json.dumps(block, indent=2))
        click.echo(
            "install in the managed settings: " + ", ".join(MANAGED_SETTINGS_PATHS.values()),
            err=True,
        )
        return
    existing = _read_settings(merge_file)
    try:
        merged = merge_settings(existing, block)
    except ValueError as error:
        raise click.ClickException(f"{merge_file}: {error}") from None
    _write_atomically(merge_file, json.dumps(merged, indent=2) + "\n")
    click.echo(f"merged the Countersign hooks into {merge_file}")


def _read_settings(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError) as error:
        raise click.ClickException(f"{path}: not readable JSON ({error})") from None
    if not isinstance(loaded, dict):
        raise click.ClickException(f"{path}: expected a JSON object")
    return loaded


def _write_atomically(path: Path, text: str) -> None:
    """Replace the file in one step, so Claude Code never reads half a settings file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
