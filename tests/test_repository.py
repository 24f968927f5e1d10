"""Repository-level checks: lint clean, and the App manifest in step with the code."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from github_app.webhooks.events import HANDLED_EVENTS

ROOT = Path(__file__).resolve().parents[1]
ALWAYS_SENT = {"installation", "installation_repositories"}  # GitHub sends these to every App


def test_ruff_reports_nothing():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run([ruff, "check", "--quiet", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_manifest_subscribes_to_exactly_the_events_the_app_handles():
    manifest = yaml.safe_load((ROOT / "app.yml").read_text())
    assert set(manifest["default_events"]) | ALWAYS_SENT == set(HANDLED_EVENTS)


def test_manifest_asks_for_no_permission_beyond_what_the_features_need():
    manifest = yaml.safe_load((ROOT / "app.yml").read_text())
    assert manifest["default_permissions"] == {
        "metadata": "read",
        "checks": "write",
        "pull_requests": "read",
        "contents": "read",
        "issues": "write",
        "members": "read",
        "administration": "write",
    }
    assert manifest["public"] is False
