"""Query parameters shared by the API and the CLI: filters, page size, opaque cursors (pure).

Every parser raises :class:`InvalidParameter` with a message fit to show a user; the API turns
it into a 400 response and the CLI into a usage error.  Nothing here touches the database.

The API's query strings are pydantic models (:class:`FilterQuery`, :class:`ListQuery`, …) whose
fields run these parsers, so one declaration both checks a request and, through
``TypeAdapter(model).json_schema()``, describes the parameter in the OpenAPI document.
:func:`parse_query` validates a query string against a model.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticUseDefault

from github_app.evidence.population import CHANGE_STATUSES, ChangeStatus
from github_app.evidence.sample import DEFAULT_SAMPLE_SIZE, MAX_SAMPLE_SIZE
from github_app.ledger.entry import ENTRY_KINDS

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_TEXT = 256
MAX_CURSOR = 64
MAX_SEED = 128
# Largest sequence number either backend stores (BIGINT).
MAX_SEQ = 2**63 - 1
# Printable text, as a JSON Schema pattern: control characters are refused by every parameter.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
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


def parse_text(name: str, value: str | None, *, max_length: int = MAX_TEXT) -> str | None:
    """A free-text parameter: at most 256 printable characters; empty means absent."""
    if value is None or value == "":
        return None
    if len(value) > max_length:
        raise InvalidParameter(f"{name}: at most {max_length} characters")
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
    return parse_query(FilterQuery, query).filters()


def encode_cursor(position: Position) -> str:
    """An opaque cursor for the page that starts after ``position``."""
    raw = f"{position.seq}.{position.rank}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> Position | None:
    """The position a cursor from :func:`encode_cursor` stands for; ``None`` for the start."""
    if cursor is None or cursor == "":
        return None
    if len(cursor) > MAX_CURSOR or not re.fullmatch(r"[A-Za-z0-9_-]+", cursor):
        raise InvalidParameter("cursor: not a cursor returned by this API")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidParameter("cursor: not a cursor returned by this API") from None
    match = _CURSOR.match(raw)
    if not match or int(match.group(1)) > MAX_SEQ:
        raise InvalidParameter("cursor: not a cursor returned by this API")
    return Position(int(match.group(1)), int(match.group(2)))


def parse_kinds(name: str, value: str | None) -> list[str] | None:
    """A comma-separated list of ledger kinds; absent (or empty) means every kind."""
    text = parse_text(name, value)
    if text is None:
        return None
    kinds = [kind.strip() for kind in text.split(",") if kind.strip()]
    unknown = [kind for kind in kinds if kind not in ENTRY_KINDS]
    if unknown or not kinds:
        raise InvalidParameter(f"{name}: expected ledger kinds ({', '.join(ENTRY_KINDS)})")
    return kinds


# --- query strings as models ----------------------------------------------------------------
#
# Each annotated type below runs one of the parsers above (so the API and the CLI share every
# message) and declares the same bounds as pydantic constraints, which is what the OpenAPI
# document shows.  Query values arrive as text; an empty value means "absent".

QueryT = TypeVar("QueryT", bound=BaseModel)


def _as_text(name: str, value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidParameter(f"{name}: expected text")


def text(*, max_length: int = MAX_TEXT, required: bool = False) -> Any:
    """A printable text parameter of at most ``max_length`` characters."""

    def parse(value: object, info: ValidationInfo) -> str | None:
        name = info.field_name or "parameter"
        parsed = parse_text(name, _as_text(name, value), max_length=max_length)
        if parsed is None and required:
            raise InvalidParameter(f"{name}: required")
        return parsed

    constraints = Field(
        min_length=1 if required else None, max_length=max_length, pattern=PRINTABLE
    )
    return Annotated[str if required else str | None, constraints, BeforeValidator(parse)]


def bounded(low: int, high: int) -> Any:
    """A decimal integer parameter between ``low`` and ``high``; absent means the default."""

    def parse(value: object, info: ValidationInfo) -> int:
        name = info.field_name or "parameter"
        if value is None or value == "":
            raise PydanticUseDefault()
        return parse_int(name, _as_text(name, value), default=low, low=low, high=high)

    return Annotated[int, Field(ge=low, le=high), BeforeValidator(parse)]


def _timestamp(value: object, info: ValidationInfo) -> datetime | None:
    name = info.field_name or "parameter"
    return parse_timestamp(name, _as_text(name, value))


def _cursor(value: object) -> Position | None:
    return decode_cursor(_as_text("cursor", value))


def _kinds(value: object) -> list[str] | None:
    return parse_kinds("kind", _as_text("kind", value))


def _export_format(value: object) -> str:
    if value is None or value == "":
        raise PydanticUseDefault()
    if value not in EXPORT_FORMATS:
        raise InvalidParameter(f"format: expected {' or '.join(sorted(EXPORT_FORMATS))}")
    return str(value)


Text = text()
Timestamp = Annotated[datetime | None, BeforeValidator(_timestamp)]
Cursor = Annotated[
    Position | None,
    PlainValidator(_cursor),
    WithJsonSchema({"type": "string", "maxLength": MAX_CURSOR, "pattern": "^[A-Za-z0-9_-]*$"}),
]
KINDS_PATTERN = "^({0})(,({0}))*$".format("|".join(ENTRY_KINDS))
Kinds = Annotated[
    list[str] | None,
    PlainValidator(_kinds),
    WithJsonSchema({"type": "string", "maxLength": MAX_TEXT, "pattern": KINDS_PATTERN}),
]
ExportFormat = Literal["jsonl", "csv"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("jsonl", "csv")


class QueryModel(BaseModel):
    """Base of the query models: unknown parameters are ignored, as they always were."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class FilterQuery(QueryModel):
    """The filters every list accepts."""

    repo: Text = Field(default=None, description="Only this repository (owner/name).")
    since: Timestamp = Field(
        default=None,
        description="Only entries that occurred at or after this time "
        "(ISO 8601; UTC when no zone is given).",
    )
    until: Timestamp = Field(
        default=None, description="Only entries that occurred before this time (exclusive)."
    )
    agent: Text = Field(default=None, description="Only this agent (catalogue name).")

    @model_validator(mode="after")
    def _ordered(self) -> FilterQuery:
        if self.since and self.until and self.since > self.until:
            raise InvalidParameter("since: must not be later than until")
        return self

    def filters(self) -> Filters:
        """The filters as the queries take them."""
        return Filters(repo=self.repo, since=self.since, until=self.until, agent=self.agent)


class ListQuery(FilterQuery):
    """A paginated list: the filters, a page size and the cursor of the previous page."""

    limit: bounded(1, MAX_LIMIT) = Field(default=DEFAULT_LIMIT, description="Page size.")
    cursor: Cursor = Field(
        default=None, description="The `next_cursor` of the previous page (opaque)."
    )


class EvidenceQuery(ListQuery):
    """``/evidence``: a list, optionally of some ledger kinds only."""

    kind: Kinds = Field(
        default=None,
        description="Only these kinds (comma-separated), of: " + ", ".join(ENTRY_KINDS),
    )


class SampleQuery(FilterQuery):
    """``/changes/sample``: the filters, a sample size and a seed."""

    n: bounded(1, MAX_SAMPLE_SIZE) = Field(default=DEFAULT_SAMPLE_SIZE, description="Sample size.")
    seed: text(max_length=MAX_SEED) = Field(
        default=None,
        description="Seed; the same seed and population give the same rows. "
        "Chosen at random when omitted.",
    )


class ExportQuery(QueryModel):
    """``/export``: the export format."""

    format: Annotated[ExportFormat, BeforeValidator(_export_format)] = Field(
        default="jsonl", description="Export format."
    )


class SessionPath(QueryModel):
    """The ``{session_id}`` path parameter."""

    session_id: text(required=True)


def parse_query(model: type[QueryT], query: Mapping[str, str]) -> QueryT:
    """Validate the parameters ``model`` declares (others are ignored); raise the first problem.

    A repeated parameter counts once, with its first value.
    """
    present = {name: query[name] for name in model.model_fields if name in query}
    try:
        return model.model_validate(present)
    except ValidationError as error:
        raise InvalidParameter(_first_problem(error)) from None


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, InvalidParameter):
        return str(cause)
    where = ".".join(str(part) for part in first["loc"]) or "query"
    return f"{where}: {first['msg']}"


def parse_status(value: str | None) -> str | None:
    """A change status filter (``approved``, ``unapproved``, ``emergency``, ``violation``)."""
    text = parse_text("status", value)
    if text is not None and text not in CHANGE_STATUSES:
        raise InvalidParameter(f"status: expected one of {', '.join(CHANGE_STATUSES)}")
    return text


def _status(value: object) -> str | None:
    return parse_status(_as_text("status", value))


def _changes_format(value: object) -> str:
    if value is None or value == "":
        raise PydanticUseDefault()
    if value not in ("json", "csv"):
        raise InvalidParameter("format: expected json or csv")
    return str(value)


class ChangesQuery(ListQuery):
    """``/changes``: a list page (JSON) or the whole population as CSV, optionally one status."""

    format: Annotated[Literal["json", "csv"], BeforeValidator(_changes_format)] = Field(
        default="json",
        description="json: one page; csv: the whole population, one row per change "
        "(limit and cursor do not apply).",
    )
    status: Annotated[ChangeStatus | None, BeforeValidator(_status)] = Field(
        default=None, description="Only changes with this status."
    )
