"""Where the App finds its shipped data: the policies folder and the App manifest.

In a source checkout (and an editable install) they sit at the top of the repository, beside
the package.  An installed wheel carries them as package data (``github_app/_shipped``).
``COUNTERSIGN_HOME`` overrides both: a folder holding ``policies/`` and ``app.yml``.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def project_home() -> Path:
    """The folder holding ``policies/`` and ``app.yml``."""
    configured = os.environ.get("COUNTERSIGN_HOME")
    if configured:
        return Path(configured)
    checkout = _PACKAGE.parent
    if (checkout / "app.yml").is_file() and (checkout / "policies").is_dir():
        return checkout
    return _PACKAGE / "_shipped"


def policies_dir() -> Path:
    """The shipped ``policies/`` folder (default policy, agent catalogue, JSON Schema)."""
    return project_home() / "policies"


def manifest_path() -> Path:
    """The GitHub App manifest ``app.yml``."""
    return project_home() / "app.yml"
