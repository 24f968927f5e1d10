"""Where the ``evidence`` and containment commands read and act: the local store or a remote API.

With ``--url`` (or ``COUNTERSIGN_URL``) and ``COUNTERSIGN_TOKEN`` a command talks to a remote
Countersign's ``/api/v1`` over HTTPS with the token (:class:`RemoteSource`); without them it
opens the store named by ``DATABASE_URL`` (:class:`LocalSource`).  Both answer with the same
JSON-ready values the API serves, so each command formats one shape.  No command creates a
local store or a signing key (:mod:`github_app.cli.store_access`: "no store at …").

The token is read from the environment only, never from an option: command lines end up in
shell histories and process lists.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

import click
import httpx

from github_app.api import attestations, freeze_revoke, queries
from github_app.api.export import ExportCursor
from github_app.api.pack import PackUnavailable, build_pack
from github_app.cli.common import StoreServices, cli_actor, settings_or_exit
from github_app.config import Settings
from github_app.evidence.attestation import web_root
from github_app.evidence.params import MAX_LIMIT, Filters, Position, decode_cursor
from github_app.state.containment import Containment
from github_app.store.ledger import LedgerError

TOKEN_VARIABLE = "COUNTERSIGN_TOKEN"  # noqa: S105 - the variable's name, not a secret
REMOTE_TIMEOUT = httpx.Timeout(30.0, read=300.0)


class Source(Protocol):
    """What the commands ask of the evidence, wherever it lives."""

    def changes(self, filters: Filters, status: str | None = None) -> list[dict[str, Any]]: ...
    def population_csv(self, filters: Filters, status: str | None = None) -> Iterator[str]: ...
    def sample(self, filters: Filters, n: int, seed: str) -> dict[str, Any]: ...
    def exceptions(self, filters: Filters) -> list[dict[str, Any]]: ...
    def session(self, session_id: str, filters: Filters) -> dict[str, Any]: ...
    def export(self, fmt: str) -> Iterator[str]: ...
    def verify(self) -> dict[str, Any]: ...
    def attestation(self, sha: str) -> dict[str, Any]: ...
    def pack(self, since: datetime, until: datetime, n: int, seed: str) -> bytes: ...
    def public_key(self) -> dict[str, Any]: ...
    def freeze_status(self) -> dict[str, Any]: ...
    def freeze(self, repo: str | None, reason: str) -> dict[str, Any]: ...
    def unfreeze(self, repo: str | None, reason: str) -> dict[str, Any]: ...
    def revoke(self, session_id: str, reason: str) -> dict[str, Any]: ...


def remote_option(command: Any) -> Any:
    """Add ``--url`` (``COUNTERSIGN_URL``): run against a remote Countersign's API."""
    return click.option(
        "--url",
        envvar="COUNTERSIGN_URL",
        help="A remote Countersign (https://HOST); the token comes from COUNTERSIGN_TOKEN.",
    )(command)


def source_for(url: str | None, *, read_only: bool = True) -> Source:
    """The remote API when ``url`` is given, else the local store."""
    if url:
        token = os.environ.get(TOKEN_VARIABLE, "").strip()
        if not token:
            raise click.UsageError(f"--url needs the API token in {TOKEN_VARIABLE}")
        return RemoteSource(url, token)
    return LocalSource(settings_or_exit(), read_only=read_only)


# --- the local store ------------------------------------------------------------------------


def _open_existing(settings: Settings) -> StoreServices:
    """The configured store and signing key, which must exist already (never created here)."""
    from github_app.cli.exit_codes import StoreMissing
    from github_app.cli.store_access import NoStore, open_existing_store

    try:
        db, ledger = open_existing_store(settings)
    except NoStore as error:
        raise StoreMissing(str(error)) from None
    except (ValueError, OSError) as error:
        raise click.ClickException(f"cannot open the store: {error}") from None
    return StoreServices(settings, db, ledger, Containment(db))


def _every(fetch: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after: Position | None = None
    while True:
        page = fetch(after)
        items += page.items
        if page.next_cursor is None:
            return items
        after = decode_cursor(page.next_cursor)


class LocalSource:
    """The store named by ``DATABASE_URL``."""

    def __init__(self, settings: Settings, *, read_only: bool) -> None:
        """Open the existing store (no command creates one: ``serve``/``migrate`` do)."""
        self.settings = settings
        self.read_only = read_only  # both kinds need an existing store: none is ever created
        self.services = _open_existing(settings)
        self.ledger = self.services.ledger

    def changes(self, filters: Filters, status: str | None = None) -> list[dict[str, Any]]:
        return _every(
            lambda a: queries.changes_page(
                self.ledger, filters, after=a, limit=MAX_LIMIT, status=status
            )
        )

    def population_csv(self, filters: Filters, status: str | None = None) -> Iterator[str]:
        return queries.population_csv_chunks(self.ledger, filters, status=status)

    def sample(self, filters: Filters, n: int, seed: str) -> dict[str, Any]:
        return queries.sample_body(queries.sample(self.ledger, filters, n=n, seed=seed), filters)

    def exceptions(self, filters: Filters) -> list[dict[str, Any]]:
        return _every(
            lambda a: queries.exceptions_page(self.ledger, filters, after=a, limit=MAX_LIMIT)
        )

    def session(self, session_id: str, filters: Filters) -> dict[str, Any]:
        summary = queries.session_summary(self.ledger, session_id)
        if summary.entries == 0:
            raise click.ClickException(f"no ledger entry for session {session_id!r}")
        revoked = self.services.containment.is_revoked(session_id)
        items = _every(
            lambda a: queries.evidence_page(
                self.ledger, filters, after=a, limit=MAX_LIMIT, session_id=session_id
            )
        )
        return {
            "session_id": session_id,
            "attribution": summary.as_dict(revoked=revoked),
            "story": summary.story.as_dict(),
            "items": items,
        }

    def export(self, fmt: str) -> Iterator[str]:
        cursor = ExportCursor(self.ledger, fmt)
        while (chunk := cursor.next_chunk()) is not None:
            yield chunk

    def verify(self) -> dict[str, Any]:
        return self.ledger.verify().model_dump(mode="json")

    def _signer(self) -> Any:
        signer = self.ledger.signer
        if signer is None:
            path = self.settings.countersign_signing_key_path
            raise click.ClickException(f"no signing key at {path} (COUNTERSIGN_SIGNING_KEY_PATH)")
        return signer

    def attestation(self, sha: str) -> dict[str, Any]:
        try:
            return attestations.attestation(
                self.ledger, sha, self._signer(), web_root(self.settings.github_api_url)
            )
        except (ValueError, attestations.UnknownChange) as error:
            raise click.ClickException(str(error)) from None

    def pack(self, since: datetime, until: datetime, n: int, seed: str) -> bytes:
        from github_app.policy.loader import load_default_policy

        self._signer()
        try:
            return build_pack(
                self.ledger,
                since=since,
                until=until,
                n=n,
                seed=seed,
                web_url=web_root(self.settings.github_api_url),
                known_policies=[load_default_policy()],
            )
        except (PackUnavailable, LedgerError) as error:
            raise click.ClickException(str(error)) from None

    def public_key(self) -> dict[str, Any]:
        signer = self._signer()
        return {
            "key_id": signer.key_id,
            "public_key_pem": signer.public_key_pem(),
            "public_key_hex": signer.public_key_hex,
        }

    def freeze_status(self) -> dict[str, Any]:
        freezes = self.services.containment.active_freezes()
        items = [{"repo": f.repo, "reason": f.reason, "actor": f.actor} for f in freezes]
        return {"frozen": bool(items), "freezes": items}

    def freeze(self, repo: str | None, reason: str) -> dict[str, Any]:
        event = freeze_revoke.freeze(self.services, repo, reason, cli_actor())
        return event.as_dict()

    def unfreeze(self, repo: str | None, reason: str) -> dict[str, Any]:
        return freeze_revoke.unfreeze(self.services, repo, cli_actor(), reason).as_dict()

    def revoke(self, session_id: str, reason: str) -> dict[str, Any]:
        event = freeze_revoke.revoke_session(self.services, session_id, reason, cli_actor())
        return event.as_dict()


# --- a remote Countersign -------------------------------------------------------------------


def _params(filters: Filters) -> dict[str, str]:
    values = {
        "repo": filters.repo,
        "since": filters.since.isoformat() if filters.since else None,
        "until": filters.until.isoformat() if filters.until else None,
        "agent": filters.agent,
    }
    return {key: value for key, value in values.items() if value is not None}


def _status(status: str | None) -> dict[str, str]:
    return {"status": status} if status else {}


class RemoteSource:
    """A remote Countersign's ``/api/v1``, with a bearer token."""

    def __init__(self, url: str, token: str, *, transport: httpx.BaseTransport | None = None):
        """Talk to ``url`` (its root; ``/api/v1`` is added)."""
        if not url.startswith(("https://", "http://")):
            raise click.BadParameter("expected an http(s) URL", param_hint="--url")
        self.base = url.rstrip("/") + "/api/v1"
        self.client = httpx.Client(
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=REMOTE_TIMEOUT,
            transport=transport,
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, self.base + path, **kwargs)
        except httpx.HTTPError as error:
            raise click.ClickException(f"cannot reach {self.base}: {error}") from None
        if response.status_code >= 400:
            raise click.ClickException(f"{self.base}{path}: {_error_line(response)}")
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    def _every(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = {**params, "limit": str(MAX_LIMIT), **({"cursor": cursor} if cursor else {})}
            body = self._json("GET", path, params=query)
            items += body["items"]
            cursor = body.get("next_cursor")
            if not cursor:
                return items

    def changes(self, filters: Filters, status: str | None = None) -> list[dict[str, Any]]:
        return self._every("/changes", {**_params(filters), **_status(status)})

    def population_csv(self, filters: Filters, status: str | None = None) -> Iterator[str]:
        query = {**_params(filters), **_status(status), "format": "csv"}
        return self._stream("/changes", query)

    def sample(self, filters: Filters, n: int, seed: str) -> dict[str, Any]:
        return self._json(
            "GET", "/changes/sample", params={**_params(filters), "n": n, "seed": seed}
        )

    def exceptions(self, filters: Filters) -> list[dict[str, Any]]:
        return self._every("/exceptions", _params(filters))

    def session(self, session_id: str, filters: Filters) -> dict[str, Any]:
        path = f"/sessions/{quote(session_id, safe='')}"
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = {**_params(filters), "limit": str(MAX_LIMIT)}
            body = self._json(
                "GET", path, params={**query, **({"cursor": cursor} if cursor else {})}
            )
            items += body["items"]
            cursor = body.get("next_cursor")
            if not cursor:
                return {
                    "session_id": session_id,
                    "attribution": body["attribution"],
                    "story": body["story"],
                    "items": items,
                }

    def export(self, fmt: str) -> Iterator[str]:
        return self._stream("/export", {"format": fmt})

    def _stream(self, path: str, params: dict[str, str]) -> Iterator[str]:
        url = self.base + path
        try:
            with self.client.stream("GET", url, params=params) as response:
                if response.status_code >= 400:
                    response.read()
                    raise click.ClickException(f"{url}: {_error_line(response)}")
                yield from response.iter_text()
        except httpx.HTTPError as error:
            raise click.ClickException(f"cannot reach {self.base}: {error}") from None

    def verify(self) -> dict[str, Any]:
        return self._json("GET", "/ledger/verify")

    def attestation(self, sha: str) -> dict[str, Any]:
        return self._json("GET", f"/attestations/{sha}")

    def pack(self, since: datetime, until: datetime, n: int, seed: str) -> bytes:
        params = {"since": since.isoformat(), "until": until.isoformat(), "n": n, "seed": seed}
        return self._request("GET", "/pack", params=params).content

    def public_key(self) -> dict[str, Any]:
        return self._json("GET", "/ledger/public-key")

    def freeze_status(self) -> dict[str, Any]:
        return self._json("GET", "/freeze")

    def freeze(self, repo: str | None, reason: str) -> dict[str, Any]:
        body = {"reason": reason, **({"repo": repo} if repo else {})}
        return self._json("POST", "/freeze", json=body)

    def unfreeze(self, repo: str | None, reason: str) -> dict[str, Any]:
        return self._json("DELETE", "/freeze", params={"repo": repo} if repo else None)

    def revoke(self, session_id: str, reason: str) -> dict[str, Any]:
        path = f"/sessions/{quote(session_id, safe='')}/revoke"
        return self._json("POST", path, json={"reason": reason})


def _error_line(response: httpx.Response) -> str:
    """``HTTP 403: this call needs the admin role`` from an API error answer."""
    try:
        message = response.json().get("error")
    except (ValueError, AttributeError):
        message = None
    return f"HTTP {response.status_code}: {message or response.reason_phrase}"
