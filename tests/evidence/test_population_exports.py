"""The auditor's population: CSV columns, exceptions, table width, access log — from the CLI
and the API, over the scenario ledger."""

from __future__ import annotations

import csv
import io
import json

import sqlalchemy as sa

from github_app.cli.evidence_commands import evidence
from github_app.evidence.population import POPULATION_CSV_COLUMNS
from github_app.ledger import NewEntry
from github_app.store.tables import access_log
from tests.api.scenario import EXPECTED_STATUSES
from tests.evidence.conftest import Cli
from tests.support.databases import drop_append_only_guards

COLUMNS = (
    "change_id, repo, pr, title, agent, session_id, launched_by, author, approvers, "
    "approved_sha, merge_sha, merged_at, merged_by, policy_sha, status, exception, backfilled, seq"
)


def population(cli: Cli, *args: str) -> list[dict[str, str]]:
    text = cli.run(evidence, "changes", "--format", "csv", *args).stdout
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == tuple(COLUMNS.split(", "))
    return list(reader)


def test_population_csv_has_one_row_per_change_with_the_auditors_columns(seeded_cli) -> None:
    assert tuple(COLUMNS.split(", ")) == POPULATION_CSV_COLUMNS
    rows = population(seeded_cli)
    assert {int(row["seq"]): row["status"] for row in rows} == EXPECTED_STATUSES
    approved = rows[0]
    assert approved | {"change_id": "", "merged_at": ""} == {
        "change_id": "",
        "repo": "acme/app",
        "pr": "1",
        "title": "change",
        "agent": "claude-code",
        "session_id": "sess-A",
        "launched_by": "alice",
        "author": "claude[bot]",
        "approvers": "bob",
        "approved_sha": "ahead",
        "merge_sha": "amerge",
        "merged_at": "",
        "merged_by": "bob",
        "policy_sha": "",
        "status": "approved",
        "exception": "",
        "backfilled": "false",
        "seq": "5",
    }
    assert approved["merged_at"].endswith("Z") and len(approved["change_id"]) == 36
    by_seq = {row["seq"]: row for row in rows}
    assert by_seq["7"]["exception"] == "merged without a passing decision: no approval"
    assert by_seq["9"]["exception"].startswith("emergency change")
    assert by_seq["14"]["exception"].startswith("direct push to a protected branch")
    assert by_seq["14"]["author"] == "mallory"


def test_population_csv_filters_by_period_and_status(seeded_cli, tmp_path) -> None:
    everything = population(seeded_cli)
    moments = sorted(row["merged_at"] for row in everything)
    recent = population(seeded_cli, "--since", moments[2])
    assert sorted(row["merged_at"] for row in recent) == moments[2:]
    older = population(seeded_cli, "--until", moments[2])
    assert sorted(row["merged_at"] for row in older) == moments[:2]
    emergencies = population(seeded_cli, "--status", "emergency")
    assert [row["seq"] for row in emergencies] == ["9", "11"]
    out = tmp_path / "population.csv"
    seeded_cli.run(evidence, "changes", "--format", "csv", "-o", str(out))
    assert out.read_text(encoding="utf-8").startswith("change_id,repo,pr,title,")


def test_changes_table_fits_100_columns_unless_wide(seeded_cli) -> None:
    seeded_cli.ledger.append(
        NewEntry(
            kind="merge",
            occurred_at="2026-01-01T00:00:00Z",
            repo="a-very-long-organisation/with-a-very-long-repository-name",
            pr=12345,
            agent="some-agent-with-a-long-name",
            session_id="s" * 60,
            data={"approvers": ["first-reviewer", "second-reviewer"], "merge_sha": "f" * 40},
        )
    )
    table = seeded_cli.run(evidence, "changes").stdout
    assert max(len(line) for line in table.splitlines()) <= 100
    assert "6 change(s)" in table
    wide = seeded_cli.run(evidence, "changes", "--wide").stdout
    assert max(len(line) for line in wide.splitlines()) > 100
    assert "s" * 60 in wide and "title" in wide.splitlines()[0]


def test_human_direct_pushes_are_exceptions_and_emergencies_are_listed_once(seeded_cli) -> None:
    seeded_cli.ledger.append(
        NewEntry(
            kind="direct_push",
            occurred_at="2026-01-01T00:00:00Z",
            repo="acme/app",
            actor="a-human",
            data={"pusher": "a-human", "violation": False},
        )
    )
    changes = json.loads(seeded_cli.run(evidence, "changes", "--json").stdout)
    human = changes[-1]
    assert human["status"] == "unapproved"
    listed = json.loads(seeded_cli.run(evidence, "exceptions", "--json").stdout)
    assert (listed[-1]["seq"], listed[-1]["type"]) == (human["seq"], "direct_push")
    per_change = [item["seq"] for item in listed]
    assert len(per_change) == len(set(per_change))


def test_cli_marks_altered_entries(seeded_cli) -> None:
    drop_append_only_guards(seeded_cli.db)
    with seeded_cli.db.transaction() as conn:
        conn.execute(sa.text("UPDATE ledger_entries SET actor = 'nobody' WHERE seq = 7"))
    table = seeded_cli.run(evidence, "changes").stdout
    assert "!7 " in table
    assert "WARNING: ledger entries altered, their hash no longer verifies: 7" in table
    rows = json.loads(seeded_cli.run(evidence, "changes", "--json").stdout)
    assert {row["seq"]: row["integrity"] for row in rows} == {
        5: "ok",
        7: "altered",
        9: "ok",
        11: "ok",
        14: "ok",
    }
    session = seeded_cli.run(evidence, "session", "sess-B").stdout
    assert "WARNING" in session and "!7 " in session
    exceptions = json.loads(seeded_cli.run(evidence, "exceptions", "--json").stdout)
    assert all(item["integrity"] == "ok" for item in exceptions)  # entry 8 is intact
    assert "ledger entry altered" in population(seeded_cli)[1]["exception"]


def test_access_log_command(seeded_cli) -> None:
    with seeded_cli.db.transaction() as conn:
        conn.execute(
            access_log.insert(),
            [
                {"token_name": "audit-firm", "role": "auditor", "method": "GET",
                 "path": "/api/v1/changes", "query": "repo=acme/app", "status": 200},
                {"token_name": None, "role": None, "method": "GET",
                 "path": "/api/v1/export", "query": None, "status": 401},
            ],
        )  # fmt: skip
    rows = json.loads(seeded_cli.run(evidence, "access-log", "--json").stdout)
    assert [(row["path"], row["status"]) for row in rows] == [
        ("/api/v1/export", 401),
        ("/api/v1/changes", 200),
    ]
    table = seeded_cli.run(evidence, "access-log").stdout
    assert "/api/v1/changes?repo=acme/app" in table and "(none)" in table
    mine = seeded_cli.run(evidence, "access-log", "--token", "audit-firm", "--json").stdout
    assert [row["token_name"] for row in json.loads(mine)] == ["audit-firm"]
    seeded_cli.run(evidence, "access-log", "--limit", "0", code=2)
