"""The last published decision per pull request, and the one check run per head commit.

``pr_decisions`` says what Countersign last decided for each PR (so ``decision`` entries mark
changes of state, and an old delivery can be told from a new one); ``check_runs`` remembers the
single ``countersign`` check run of each (repository, head commit) and what it shows.  Every
write is an upsert (``INSERT … ON CONFLICT DO UPDATE``), so concurrent writers never collide.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from github_app.store import tables
from github_app.store.database import Database, upsert


@dataclass(frozen=True)
class PrRecord:
    """What we last decided and published for one pull request."""

    repo_id: int
    pr: int
    head_sha: str
    state: str
    check_run_id: int | None = None
    source_updated_at: datetime | None = None  # GitHub's pull_request.updated_at applied
    version: int = 0  # how many ``decision`` entries were written for the PR
    check_body: dict[str, Any] | None = None  # the check run this PR alone would show
    is_open: bool = True


@dataclass(frozen=True)
class CommitCheck:
    """The ``countersign`` check run of one head commit."""

    repo_id: int
    head_sha: str
    check_run_id: int | None  # None: a create was started and may or may not have landed
    conclusion: str | None
    pr: int | None


class DecisionState:
    """Read and write ``pr_decisions`` and ``check_runs``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- pull requests -----------------------------------------------------------------------

    def get(self, repo_id: int, pr: int) -> PrRecord | None:
        """The last record for a PR, if any."""
        table = tables.pr_decisions
        query = sa.select(table).where(table.c.repo_id == repo_id, table.c.pr == pr)
        with self._db.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _record(row) if row is not None else None

    def in_states(self, repo_ids: list[int], states: frozenset[str]) -> list[PrRecord]:
        """The records of ``repo_ids``' pull requests whose last decision is one of ``states``."""
        table = tables.pr_decisions
        query = (
            sa.select(table)
            .where(table.c.repo_id.in_(repo_ids), table.c.state.in_(sorted(states)))
            .order_by(table.c.repo_id, table.c.pr)
        )
        with self._db.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            PrRecord(row["repo_id"], row["pr"], row["head_sha"], row["state"], row["check_run_id"])
            for row in rows
        ]

    def put(self, record: PrRecord, *, conn: Connection | None = None) -> None:
        """Replace the record for a PR (in ``conn``'s transaction when given)."""
        values = {
            "repo_id": record.repo_id,
            "pr": record.pr,
            "head_sha": record.head_sha,
            "state": record.state,
            "check_run_id": record.check_run_id,
            "updated_at": datetime.now(UTC),
            "source_updated_at": record.source_updated_at,
            "version": record.version,
            "check_body": json.dumps(record.check_body) if record.check_body else None,
            "is_open": record.is_open,
        }
        statement = upsert(self._db, tables.pr_decisions, values, ["repo_id", "pr"])
        if conn is not None:
            conn.execute(statement)
            return
        with self._db.transaction() as own:
            own.execute(statement)

    def open_on_commit(self, repo_id: int, head_sha: str) -> list[PrRecord]:
        """The open PRs of a repository whose last published head is ``head_sha``."""
        table = tables.pr_decisions
        query = (
            sa.select(table)
            .where(table.c.repo_id == repo_id, table.c.head_sha == head_sha, table.c.is_open)
            .order_by(table.c.pr)
        )
        with self._db.engine.connect() as conn:
            return [_record(row) for row in conn.execute(query).mappings()]

    # -- check runs --------------------------------------------------------------------------

    def check_of(self, repo_id: int, head_sha: str) -> CommitCheck | None:
        """The check run stored for a head commit, if any."""
        table = tables.check_runs
        query = sa.select(table).where(table.c.repo_id == repo_id, table.c.head_sha == head_sha)
        with self._db.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return CommitCheck(
            row["repo_id"], row["head_sha"], row["check_run_id"], row["conclusion"], row["pr"]
        )

    def put_check(self, check: CommitCheck) -> None:
        """Remember the check run of a head commit (``check_run_id`` None: create started)."""
        values = {
            "repo_id": check.repo_id,
            "head_sha": check.head_sha,
            "check_run_id": check.check_run_id,
            "conclusion": check.conclusion,
            "pr": check.pr,
            "updated_at": datetime.now(UTC),
        }
        with self._db.transaction() as conn:
            conn.execute(upsert(self._db, tables.check_runs, values, ["repo_id", "head_sha"]))


def _record(row: Any) -> PrRecord:
    body = row["check_body"]
    return PrRecord(
        repo_id=row["repo_id"],
        pr=row["pr"],
        head_sha=row["head_sha"],
        state=row["state"],
        check_run_id=row["check_run_id"],
        source_updated_at=row["source_updated_at"],
        version=row["version"],
        check_body=json.loads(body) if body else None,
        is_open=bool(row["is_open"]),
    )
