"""State rows written by concurrent deliveries: one statement each, so writers never collide.

Before, ``put`` was an UPDATE then an INSERT when nothing was updated: two writers of a new key
both inserted and one failed with a unique violation.  Both backends.
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from github_app.state.merge_groups import GroupRecord, MergeGroups
from github_app.state.retargets import Retarget, Retargets
from tests.support.databases import database, database_url  # noqa: F401


def test_concurrent_puts_of_a_new_merge_group_all_succeed(database):  # noqa: F811
    def put(attempt: int) -> None:
        record = GroupRecord(7, "a" * 40, "main", (attempt,), "success")
        MergeGroups(database).put(record)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, range(32)))  # raises if any writer failed
    stored = MergeGroups(database).get(7, "a" * 40)
    assert stored is not None and len(stored.prs) == 1


def test_concurrent_puts_of_a_new_retarget_all_succeed(database):  # noqa: F811
    start = datetime(2026, 11, 1, tzinfo=UTC)

    def put(attempt: int) -> None:
        retarget = Retarget(7, 3, "main", f"release-{attempt}", start + timedelta(seconds=attempt))
        Retargets(database).put(retarget)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, range(32)))
    stored = Retargets(database).get(7, 3)
    assert stored is not None and stored.to_base.startswith("release-")
