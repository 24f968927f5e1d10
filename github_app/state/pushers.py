"""Who pushed commits to a pull request's branch (``pr_pushers``): authors for counting purposes.

Commit identities are whatever the pusher wrote (``Claude <noreply@anthropic.com>``), so a
reviewer could push a commit under an unlinked identity and then approve it.  GitHub's
``sender`` of the push is authenticated; every sender is recorded here and excluded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from github_app.store import tables
from github_app.store.database import Database

BRANCH_PUSH = 0  # ``pr`` of a push to a branch: which PR (if any) it feeds is not known yet


@dataclass(frozen=True)
class Pushed:
    """One sender who pushed ``sha`` (to PR ``pr``, or to a branch when ``pr`` is 0)."""

    repo_id: int
    sha: str
    login: str
    pr: int = BRANCH_PUSH
    event: str = "push"


class Pushers:
    """Read and write ``pr_pushers``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, pushes: Iterable[Pushed]) -> None:
        """Remember each push (a row already there is kept: recording twice changes nothing)."""
        table = tables.pr_pushers
        rows = {
            (p.repo_id, p.sha.lower(), p.login.lower(), p.pr): p.event for p in pushes if p.login
        }
        with self._db.engine.begin() as conn:
            for (repo_id, sha, login, pr), event in rows.items():
                values = {"repo_id": repo_id, "pushed_sha": sha, "login": login, "pr": pr}
                try:
                    with conn.begin_nested():  # a concurrent delivery may have stored it first
                        conn.execute(table.insert().values(event=event, **values))
                except sa.exc.IntegrityError:
                    continue

    def of_pull_request(self, repo_id: int, pr: int, shas: Iterable[str]) -> dict[str, str]:
        """Lower-case login -> a commit they pushed, for PR ``pr`` whose commits are ``shas``."""
        table = tables.pr_pushers
        wanted = sorted({sha.lower() for sha in shas})
        mine = table.c.pr == pr
        match = sa.or_(mine, table.c.pushed_sha.in_(wanted)) if wanted else mine
        query = (
            sa.select(table.c.login, table.c.pushed_sha)
            .where(table.c.repo_id == repo_id, match)
            .order_by(table.c.recorded_at, table.c.pushed_sha)
        )
        with self._db.engine.connect() as conn:
            rows = conn.execute(query).all()
        found: dict[str, str] = {}
        for login, sha in rows:
            found.setdefault(login, sha)
        return found
