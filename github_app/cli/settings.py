"""Settings for a command, or the one-line configuration error (exit status 2).

Kept apart from :mod:`github_app.cli.common` so ``serve`` reads its settings without importing
what the evidence commands share (queries, filters, tables).
"""

from __future__ import annotations

from github_app.cli.exit_codes import ConfigurationError
from github_app.config import ConfigError, Settings, load_settings


def settings_or_exit() -> Settings:
    """Load settings or stop with the one-line reason (exit status 2)."""
    try:
        return load_settings()
    except ConfigError as error:
        raise ConfigurationError(f"configuration error: {error}") from None
