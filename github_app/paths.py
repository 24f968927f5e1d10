"""Where the App finds its shipped data: the policies folder and the App manifest.

In a source checkout (and an editable install) they sit beside the package.  An installed
wheel, as in the container image, points ``COUNTERSIGN_HOME`` at the folder holding them.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_home() -> Path:
    """The folder holding ``policies/`` and ``app.yml``."""
    configured = os.environ.get("COUNTERSIGN_HOME")
    return Path(configured) if configured else Path(__file__).resolve().parents[1]


def policies_dir() -> Path:
    """The shipped ``policies/`` folder (default policy, agent catalogue, JSON Schema)."""
    return project_home() / "policies"


def manifest_path() -> Path:
    """The GitHub App manifest ``app.yml``."""
    return project_home() / "app.yml"
