"""The ``countersign`` command line: one click group, a module per command family."""

from __future__ import annotations

from github_app.cli.root import main

__all__ = ["main"]
