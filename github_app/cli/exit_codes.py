"""The exit statuses of ``countersign`` (the README's table is this list).

- 0: success;
- 1: the command ran and found a problem (a broken ledger, an invalid policy, a failed drill,
  ``doctor`` found something to fix), or GitHub or the store refused an operation;
- 2: usage or configuration error (a bad option, a missing or malformed setting);
- 3: no store or signing key where the configuration points (``no store at …``);
- 4: ``serve`` or ``migrate`` could not start (port in use, database unreachable, key files,
  permissions).
"""

from __future__ import annotations

import click

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_CONFIG = 2
EXIT_NO_STORE = 3
EXIT_STARTUP = 4


class ConfigurationError(click.ClickException):
    """A setting is missing or malformed (exit status 2)."""

    exit_code = EXIT_CONFIG


class StoreMissing(click.ClickException):
    """No store or signing key where the configuration points (exit status 3)."""

    exit_code = EXIT_NO_STORE


class StartupFailed(click.ClickException):
    """``serve`` or ``migrate`` could not start (exit status 4)."""

    exit_code = EXIT_STARTUP
