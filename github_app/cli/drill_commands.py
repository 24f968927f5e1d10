"""``countersign drill``: test the controls and record the result as evidence."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import click
from tabulate import tabulate

from github_app.api.agent_events import kill_switch_drill
from github_app.cli.common import cli_actor, open_services
from github_app.core.catalogue import load_catalogue
from github_app.drills import run_drill
from github_app.ledger.entry import NewEntry
from github_app.policy.loader import load_default_policy


@click.command("drill")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def drill(as_json: bool) -> None:
    """Exercise each control on synthetic changes and a synthetic agent session (the kill
    switch: revoke, then the next tool call must be denied); record a `drill` ledger entry.

    Exits non-zero when any control did not answer as it must.
    """
    services = open_services()
    results = run_drill(load_default_policy(), load_catalogue())
    results += kill_switch_drill(services, cli_actor())
    rows = [
        {"control": r.control, "expected": r.expected, "observed": r.observed, "passed": r.passed}
        for r in results
    ]
    passed = all(r.passed for r in results)
    entry = services.ledger.append(
        NewEntry(
            kind="drill",
            occurred_at=datetime.now(UTC),
            actor=cli_actor(),
            data={"passed": passed, "controls": rows},
        )
    )
    if as_json:
        click.echo(json.dumps({"passed": passed, "seq": entry.seq, "controls": rows}, indent=2))
    else:
        click.echo(
            tabulate(
                [
                    [r["control"], r["expected"], r["observed"], "ok" if r["passed"] else "FAILED"]
                    for r in rows
                ],
                headers=["control", "must be", "was", ""],
            )
        )
        click.echo(
            f"\n{'all controls held' if passed else 'A CONTROL FAILED'}; "
            f"recorded as ledger entry {entry.seq}"
        )
    if not passed:
        sys.exit(1)
