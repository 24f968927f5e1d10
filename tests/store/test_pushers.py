"""``pr_pushers`` on both backends: recording is idempotent; a PR's pushers are its own rows
plus the pushers of any commit it contains."""

from __future__ import annotations

from github_app.state.pushers import Pushed, Pushers
from github_app.store.database import Database

A, B, C = "a" * 40, "b" * 40, "c" * 40


def test_recording_twice_changes_nothing(database: Database) -> None:
    pushers = Pushers(database)
    pushers.record([Pushed(1, A, "Mallory", 7, "synchronize")])
    pushers.record([Pushed(1, A, "mallory", 7, "synchronize"), Pushed(1, A, "mallory", 7)])
    assert pushers.of_pull_request(1, 7, []) == {"mallory": A}


def test_branch_pushes_count_for_the_prs_that_contain_their_commits(database: Database) -> None:
    pushers = Pushers(database)
    pushers.record([Pushed(1, B, "eve"), Pushed(1, C, "trent"), Pushed(2, A, "other-repo")])
    pushers.record([Pushed(1, A, "bob", 9, "synchronize")])
    assert pushers.of_pull_request(1, 7, [B]) == {"eve": B}
    assert pushers.of_pull_request(1, 7, [A, B]) == {"bob": A, "eve": B}, "bob pushed A"
    assert pushers.of_pull_request(1, 9, [C]) == {"bob": A, "trent": C}
    assert pushers.of_pull_request(1, 8, []) == {}
