"""Ledger entries and their canonical encoding (pure; no I/O).

The canonical encoding of an entry — what its ``hash`` is the SHA-256 of — is, exactly::

    json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
               allow_nan=False).encode("utf-8")

where ``fields`` holds every stored field except ``hash`` (so ``seq``, ``id``,
``recorded_at`` and ``prev_hash`` are covered), ``None`` values are kept as ``null``,
timestamps are RFC 3339 UTC strings with microseconds (``2024-05-01T12:00:00.000000Z``) and
``data`` is the kind-specific JSON object.  The first entry's ``prev_hash`` is 64 zeros.  An
auditor can recompute any entry's hash from an export with nothing but a JSON library.

``encode_canonical`` produces the same bytes without building nested objects: ``data`` is
stored as its own canonical JSON text and spliced in, which keeps ``verify`` fast.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_serializer, field_validator

EntryKind = Literal[
    "agent_change_detected",
    "decision",
    "approval",
    "approval_invalidated",
    "merge",
    "unapproved_merge",
    "direct_push",
    "push_denied",
    "push_bypassed",
    "ruleset_drift",
    "emergency_change",
    "post_review",
    "freeze",
    "unfreeze",
    "session_revoked",
    "alert",
    "drill",
    "policy_invalid",
    "backfill",
    "merge_group",
    "session_started",
    "agent_operation",
    "operation_denied",
    "session_ended",
]
ENTRY_KINDS: tuple[str, ...] = get_args(EntryKind)
GENESIS_HASH = "0" * 64

# Every hashed field, in sorted (= canonical) order; ``hash`` itself is not hashed.
CANONICAL_FIELDS: tuple[str, ...] = (
    "actor",
    "agent",
    "data",
    "delivery_id",
    "head_sha",
    "id",
    "kind",
    "launched_by",
    "occurred_at",
    "payload_sha256",
    "policy_sha",
    "pr",
    "prev_hash",
    "recorded_at",
    "repo",
    "repo_id",
    "seq",
    "session_derived",
    "session_id",
)
_DATA = CANONICAL_FIELDS.index("data")
_OCCURRED_AT = CANONICAL_FIELDS.index("occurred_at")
_RECORDED_AT = CANONICAL_FIELDS.index("recorded_at")
_json_text = json.encoder.c_encode_basestring or json.encoder.py_encode_basestring


def rfc3339(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 UTC with microseconds: ``…T12:00:00.000000Z``."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (``Z`` or an offset) into an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return moment.astimezone(UTC)


def _json_default(value: Any) -> Any:
    """Allow datetimes and pydantic models inside ``data``; refuse everything else."""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable in ledger data")


_canonical_encoder = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    default=_json_default,
)


_plain_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=_json_default)


def canonical_json(value: Any) -> str:
    """Deterministic JSON text: sorted keys, no whitespace, UTF-8 characters unescaped."""
    return _canonical_encoder.encode(value)


def encode_canonical(values: Sequence[Any]) -> bytes:
    """Canonical bytes from the 19 field values in ``CANONICAL_FIELDS`` order.

    Timestamps must already be RFC 3339 strings and ``data`` its canonical JSON text (spliced
    in verbatim); a truthy ``session_derived`` (SQLite returns 1) encodes as ``true``.  Text
    fields must be ``str`` and ``pr``/``repo_id``/``seq`` ``int`` (anything else raises
    ``TypeError``: the database returned something the ledger never wrote).  This is the hot
    loop of ``verify``, hence one f-string without helper calls; a test proves it equals the
    ``json.dumps`` definition in the module docstring.
    """
    (actor, agent, data, delivery_id, head_sha, id_, kind, launched_by, occurred_at,
     payload_sha256, policy_sha, pr, prev_hash, recorded_at, repo, repo_id, seq,
     session_derived, session_id) = values  # fmt: skip
    s, n = _json_text, int.__repr__
    return (
        f'{{"actor":{"null" if actor is None else s(actor)},'
        f'"agent":{"null" if agent is None else s(agent)},'
        f'"data":{data},'
        f'"delivery_id":{"null" if delivery_id is None else s(delivery_id)},'
        f'"head_sha":{"null" if head_sha is None else s(head_sha)},'
        f'"id":{s(id_)},'
        f'"kind":{s(kind)},'
        f'"launched_by":{"null" if launched_by is None else s(launched_by)},'
        f'"occurred_at":{s(occurred_at)},'
        f'"payload_sha256":{"null" if payload_sha256 is None else s(payload_sha256)},'
        f'"policy_sha":{"null" if policy_sha is None else s(policy_sha)},'
        f'"pr":{"null" if pr is None else n(pr)},'
        f'"prev_hash":{s(prev_hash)},'
        f'"recorded_at":{s(recorded_at)},'
        f'"repo":{"null" if repo is None else s(repo)},'
        f'"repo_id":{"null" if repo_id is None else n(repo_id)},'
        f'"seq":{n(seq)},'
        f'"session_derived":{"true" if session_derived else "false"},'
        f'"session_id":{"null" if session_id is None else s(session_id)}}}'
    ).encode()


def hash_canonical(values: Sequence[Any]) -> str:
    """Hex SHA-256 of :func:`encode_canonical`."""
    return hashlib.sha256(encode_canonical(values)).hexdigest()


class _EntryFields(BaseModel):
    """Fields shared by a new entry and a stored one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    occurred_at: AwareDatetime
    session_id: str | None = None
    session_derived: bool = False
    agent: str | None = None
    launched_by: str | None = None
    repo: str | None = None
    repo_id: int | None = None
    pr: int | None = None
    head_sha: str | None = None
    actor: str | None = None
    delivery_id: str | None = None
    payload_sha256: str | None = None
    policy_sha: str | None = None
    data: dict[str, Any] = {}

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @field_validator("data", mode="before")
    @classmethod
    def _plain_data(cls, value: Any) -> Any:
        """Reduce ``data`` to plain JSON types so what is hashed is exactly what is stored."""
        if not isinstance(value, dict):
            return value
        try:
            return json.loads(_plain_encoder.encode(value))
        except TypeError as error:  # pydantic reports ValueError, not TypeError, as invalid
            raise ValueError(str(error)) from error

    @field_validator(
        "session_id",
        "agent",
        "launched_by",
        "repo",
        "head_sha",
        "actor",
        "delivery_id",
        "payload_sha256",
        "policy_sha",
    )
    @classmethod
    def _storable_text(cls, value: str | None) -> str | None:
        """Refuse text PostgreSQL cannot store (NUL) or UTF-8 cannot encode (lone surrogates)."""
        if value is not None:
            if "\x00" in value:
                raise ValueError("text must not contain NUL characters")
            value.encode("utf-8")
        return value

    @field_serializer("occurred_at", when_used="json")
    def _serialise_occurred_at(self, value: datetime) -> str:
        return rfc3339(value)


class NewEntry(_EntryFields):
    """An entry to append: everything but the fields the ledger assigns.

    ``idempotency_key`` names the effect the entry records (see ``evidence.pr_entries``); the
    ledger stores at most one entry per key.  It is storage metadata, not evidence: it is not
    part of the sealed entry or its hash.
    """

    kind: EntryKind
    idempotency_key: str | None = None


class LedgerEntry(_EntryFields):
    """A stored entry: the fields of :class:`NewEntry` plus sequence, id, time and hashes."""

    seq: int
    id: str
    kind: str  # not the Literal: an older build must still read entries of newer kinds
    recorded_at: AwareDatetime
    prev_hash: str
    hash: str

    @field_validator("recorded_at")
    @classmethod
    def _recorded_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @field_serializer("recorded_at", when_used="json")
    def _serialise_recorded_at(self, value: datetime) -> str:
        return rfc3339(value)

    @classmethod
    def seal(
        cls, new: NewEntry, *, seq: int, id: str, recorded_at: datetime, prev_hash: str
    ) -> LedgerEntry:
        """Complete ``new`` with its ledger position and compute its hash."""
        fields = {name: value for name, value in new.__dict__.items() if name != "idempotency_key"}
        fields |= {
            "seq": seq,
            "id": id,
            "recorded_at": recorded_at.astimezone(UTC),
            "prev_hash": prev_hash,
        }
        # Every field comes from a validated NewEntry or from the ledger itself.
        return cls.model_construct(**fields, hash=hash_canonical(canonical_values(fields)))

    def canonical_values(self) -> list[Any]:
        """Field values in ``CANONICAL_FIELDS`` order, ready for :func:`encode_canonical`."""
        return canonical_values(self.__dict__)

    def canonical_bytes(self) -> bytes:
        """The canonical encoding this entry's hash covers."""
        return encode_canonical(self.canonical_values())

    def computed_hash(self) -> str:
        """Recompute the hash from the fields (equals ``hash`` unless the entry was altered)."""
        return hash_canonical(self.canonical_values())


def canonical_values(fields: Mapping[str, Any]) -> list[Any]:
    """Turn a field mapping (datetimes, ``data`` dict) into ``encode_canonical`` input."""
    values = list(map(fields.get, CANONICAL_FIELDS))
    values[_DATA] = canonical_json(values[_DATA] or {})
    values[_OCCURRED_AT] = _as_rfc3339(values[_OCCURRED_AT])
    values[_RECORDED_AT] = _as_rfc3339(values[_RECORDED_AT])
    return values


def _as_rfc3339(value: datetime | str) -> str:
    """Accept a datetime or an RFC 3339 string and return the canonical string form."""
    return rfc3339(parse_rfc3339(value) if isinstance(value, str) else value)
