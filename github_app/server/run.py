"""Running the server: bind, log where it listens, stop cleanly, explain failures in one line.

Every failure a user can cause at start-up (port taken, database unreachable, unreadable or
malformed key files, a data folder it may not write) becomes :class:`StartupError` with one
line saying what to fix.  The traceback is logged only at ``LOG_LEVEL=DEBUG``.
"""

from __future__ import annotations

import asyncio
import errno
import signal

import sqlalchemy as sa
from aiohttp import web

from github_app.config import Settings
from github_app.ledger.checkpoints import SigningKeyError
from github_app.logs import get_logger
from github_app.server.app import LOADING, create_app

log = get_logger("countersign")


class StartupError(Exception):
    """The server cannot start; the message is the one line to show."""


def _database(settings: Settings) -> str:
    try:
        return sa.engine.make_url(settings.database_url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "DATABASE_URL"


def describe_startup_failure(error: BaseException, settings: Settings) -> str:
    """One line naming what failed and what to change."""
    if isinstance(error, StartupError):
        return str(error)
    if isinstance(error, SigningKeyError):
        return f"refusing to start: {error}"
    if isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError):
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return f"database unreachable at {_database(settings)}: {reason} (check DATABASE_URL)"
    if isinstance(error, sa.exc.SQLAlchemyError):
        reason = str(error).strip().splitlines()[0]
        return f"database error at {_database(settings)}: {reason}"
    if isinstance(error, PermissionError):
        return (
            f"permission denied: {error.filename or error}; the data folder "
            f"({settings.data_dir}) and key files must be writable by this user"
        )
    if isinstance(error, FileNotFoundError | IsADirectoryError | NotADirectoryError):
        return f"cannot open {error.filename or error}: {error.strerror or error}"
    if isinstance(error, OSError):
        return f"{error.strerror or error}: {error.filename}" if error.filename else str(error)
    if isinstance(error, ValueError):
        return f"bad key file or setting: {error}"
    return f"{type(error).__name__}: {error}"


async def _bind(runner: web.AppRunner, settings: Settings) -> web.TCPSite:
    site = web.TCPSite(runner, settings.host, settings.port)
    try:
        await site.start()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise StartupError(
                f"port {settings.port} on {settings.host} is already in use "
                "(stop the other process or set PORT)"
            ) from None
        if error.errno == errno.EACCES:
            raise StartupError(
                f"not allowed to listen on port {settings.port} (use a port above 1023)"
            ) from None
        raise StartupError(f"cannot listen on {settings.host}:{settings.port}: {error}") from None
    return site


def _stop_signal() -> asyncio.Future[str]:
    """A future set to the name of the first SIGINT/SIGTERM (handlers installed now)."""
    loop = asyncio.get_running_loop()
    stopped: asyncio.Future[str] = loop.create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda s=sig: stopped.done() or stopped.set_result(s.name))
    return stopped


async def _until_stopped(stopped: asyncio.Future[str], loading: asyncio.Task | None) -> str:
    """Wait for the stop signal; raise what the background start-up step raised, if it fails
    first (the server does not go on taking deliveries it cannot process)."""
    if loading is not None:
        await asyncio.wait({stopped, loading}, return_when=asyncio.FIRST_COMPLETED)
        if loading.done() and not loading.cancelled() and loading.exception() is not None:
            raise loading.exception()  # type: ignore[misc]
    return await stopped


async def serve(settings: Settings) -> None:
    """Start the App, serve until SIGINT/SIGTERM, then shut down in order."""
    stopped = _stop_signal()  # before start-up, so an early signal still shuts down cleanly
    runner = web.AppRunner(create_app(settings), access_log=None, handle_signals=False)
    try:
        await runner.setup()  # opens the store, migrates, checks the signing key and App key
        await _bind(runner, settings)
    except BaseException:
        await runner.cleanup()
        raise
    address = f"http://{settings.host}:{settings.port}"
    log.info("listening", address=address, store=_database(settings))
    try:
        reason = await _until_stopped(stopped, runner.app.get(LOADING))
    except BaseException:
        await runner.cleanup()
        raise
    log.info("shutting_down", signal=reason)
    await runner.cleanup()
    log.info("stopped", address=address)


def run(settings: Settings) -> None:
    """Serve, turning start-up failures into :class:`StartupError` (one line)."""
    try:
        asyncio.run(serve(settings))
    except StartupError:
        raise
    except (OSError, ValueError, sa.exc.SQLAlchemyError) as error:
        log.debug("startup_failed", exc_info=True)
        raise StartupError(describe_startup_failure(error, settings)) from None
