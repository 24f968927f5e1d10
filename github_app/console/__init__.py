"""The auditor console: HTML pages under ``/console/`` (see :mod:`github_app.console.app`)."""

from github_app.console.mount import add_console_routes

__all__ = ["add_console_routes"]
