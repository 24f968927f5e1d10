"""Merge queue groups Countersign judged, so the group head's push is known as a merge.

One row per group head commit: the target branch, the PRs the group held, the conclusion
published, and (after ``destroyed``) why GitHub dissolved it.  The push handler reads it: a push
to the base branch whose head is a recorded group's head is a merge through pull requests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from github_app.store import tables
from github_app.store.database import Database, upsert


@dataclass(frozen=True)
class GroupRecord:
    """A merge group as Countersign last saw it."""

    repo_id: int
    head_sha: str
    base_ref: str
    prs: tuple[int, ...]
    conclusion: str | None
    destroyed_reason: str | None = None


class MergeGroups:
    """Read and write ``merge_groups``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, repo_id: int, head_sha: str) -> GroupRecord | None:
        """The group whose head commit is ``head_sha``, if Countersign saw it."""
        table = tables.merge_groups
        query = sa.select(table).where(table.c.repo_id == repo_id, table.c.head_sha == head_sha)
        with self._db.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return GroupRecord(
            repo_id=row["repo_id"],
            head_sha=row["head_sha"],
            base_ref=row["base_ref"],
            prs=tuple(json.loads(row["prs"])),
            conclusion=row["conclusion"],
            destroyed_reason=row["destroyed_reason"],
        )

    def put(self, record: GroupRecord) -> None:
        """Insert or replace the row of ``record``'s group."""
        table = tables.merge_groups
        values = {
            "repo_id": record.repo_id,
            "head_sha": record.head_sha,
            "base_ref": record.base_ref,
            "prs": json.dumps(list(record.prs)),
            "conclusion": record.conclusion,
            "destroyed_reason": record.destroyed_reason,
            "updated_at": datetime.now(UTC),
        }
        # One statement (INSERT … ON CONFLICT DO UPDATE): concurrent writers cannot collide.
        with self._db.engine.begin() as conn:
            conn.execute(upsert(self._db, table, values, ["repo_id", "head_sha"]))
