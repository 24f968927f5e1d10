"""Pull requests whose last decision was an agent change's, per repository (from ``pr_decisions``).

Membership and permission events use it to find the PRs whose countersignature may depend on a
person or a team, without listing every pull request of every repository.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from github_app.store import tables
from github_app.store.database import Database

# States only an agent change (or a policy change) reaches; human changes are "not_agent".
AGENT_STATES = ("approved", "pending", "blocked", "frozen", "revoked", "emergency")


def agent_pull_requests(db: Database, repo_ids: Iterable[int]) -> list[tuple[int, int]]:
    """``(repo_id, number)`` of every PR in ``repo_ids`` last decided as an agent change."""
    ids = sorted(set(repo_ids))
    if not ids:
        return []
    table = tables.pr_decisions
    query = (
        sa.select(table.c.repo_id, table.c.pr)
        .where(table.c.repo_id.in_(ids), table.c.state.in_(AGENT_STATES))
        .order_by(table.c.repo_id, table.c.pr)
    )
    with db.engine.connect() as conn:
        return [(row.repo_id, row.pr) for row in conn.execute(query)]
