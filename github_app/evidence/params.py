"""Query parameters shared by the API and the CLI: filters, page size, opaque cursors (pure).

Every parser raises :class:`InvalidParameter` with a message fit to show a user; the API turns
it into a 400 response and the CLI into a usage error.  Nothing here touches the database.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_TEXT = 256
# Largest sequence number either backend stores (BIGINT).
MAX_SEQ = 2**63 - 1
FILTER_NAMES = ("repo", "since", "until", "agent")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CURSOR = re.compile(r"^(\d{1,19})\.(\d{1,3})$")


class InvalidParameter(ValueError):
    """A query parameter is malformed; the message names it and says what is expected."""


@dataclass(frozen=True)
class Filters:
    """Filters every list accepts; ``None`` means "not filtered"."""

    repo: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    agent: str | None = None

    def ledger_kwargs(self) -> dict[str, object]:
        """Keyword arguments for ``Ledger.entries``."""
        return {"repo": self.repo, "since": self.since, "until": self.until, "agent": self.agent}


@dataclass(frozen=True, order=True)
class Position:
    """Where a list item sits: the ledger ``seq`` it came from and its rank within that entry.

    Most items are one per entry (rank 0); an emergency change can also yield an overdue
    post-review item (rank 1) from the same entry.
    """

    seq: int
    rank: int = 0


def parse_text(name: str, value: str | None) -> str | None:
    """A free-text parameter: at most 256 printable characters; empty means absent."""
    if value is None or value == "":
        return None
    if len(value) > MAX_TEXT:
        raise InvalidParameter(f"{name}: at most {MAX_TEXT} characters")
    if _CONTROL.search(value):
        raise InvalidParameter(f"{name}: control characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidParameter(f"{name}: not valid UTF-8 text") from None
    return value


def parse_timestamp(name: str, value: str | None) -> datetime | None:
    """An ISO 8601 date or date-time; without a zone it is taken as UTC."""
    text = parse_text(name, value)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidParameter(
            f"{name}: expected an ISO 8601 date or date-time, e.g. 2024-05-01T00:00:00Z"
        ) from None


def parse_int(name: str, value: str | None, *, default: int, low: int, high: int) -> int:
    """A decimal integer between ``low`` and ``high`` inclusive."""
    if value is None or value == "":
        return default
    if not re.fullmatch(r"[+-]?\d{1,19}", value.strip()):
        raise InvalidParameter(f"{name}: expected an integer between {low} and {high}")
    number = int(value)
    if not low <= number <= high:
        raise InvalidParameter(f"{name}: must be between {low} and {high}")
    return number


def parse_limit(value: str | None) -> int:
    """Page size: 1..1000, default 100."""
    return parse_int("limit", value, default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT)


def parse_filters(query: Mapping[str, str]) -> Filters:
    """The ``repo``, ``since``, ``until`` and ``agent`` filters of a request."""
    filters = Filters(
        repo=parse_text("repo", query.get("repo")),
        since=parse_timestamp("since", query.get("since")),
        until=parse_timestamp("until", query.get("until")),
        agent=parse_text("agent", query.get("agent")),
    )
    if filters.since and filters.until and filters.since > filters.until:
        raise InvalidParameter("since: must not be later than until")
    return filters


def encode_cursor(position: Position) -> str:
    """An opaque cursor for the page that starts after ``position``."""
    raw = f"{position.seq}.{position.rank}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> Position | None:
    """The position a cursor from :func:`encode_cursor` stands for; ``None`` for the start."""
    if cursor is None or cursor == "":
        return None
    if len(cursor) > 64 or not re.fullmatch(r"[A-Za-z0-9_-]+", cursor):
        raise InvalidParameter("cursor: not a cursor returned by this API")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidParameter("cursor: not a cursor returned by this API") from None
    match = _CURSOR.match(raw)
    if not match or int(match.group(1)) > MAX_SEQ:
        raise InvalidParameter("cursor: not a cursor returned by this API")
    return Position(int(match.group(1)), int(match.group(2)))


def parse_status(value: str | None) -> str | None:
    """A change status filter (``approved``, ``unapproved``, ``emergency``, ``violation``)."""
    from github_app.evidence.population import CHANGE_STATUSES

    text = parse_text("status", value)
    if text is not None and text not in CHANGE_STATUSES:
        raise InvalidParameter(f"status: expected one of {', '.join(CHANGE_STATUSES)}")
    return text
