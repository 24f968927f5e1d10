"""``countersign policy check|simulate|schema``.

Problems are printed one a line as ``file:line:col: key: message`` (warnings for settings that
do nothing are marked ``warning:``); an invalid policy exits 1.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import NoReturn

import click
import yaml

from github_app.cli.common import settings_or_exit
from github_app.policy.diagnostics import warnings_for
from github_app.policy.loader import (
    EffectivePolicy,
    PolicyError,
    effective_policy,
    load_default_policy,
    read_document,
)


def _fail_with(error: PolicyError, text: str, source: str) -> NoReturn:
    for diagnostic in error.diagnostics:
        click.echo(diagnostic.format(), err=True)
    _warn(text, source)  # all problems in one go: the no-op warnings too
    count = len(error.diagnostics)
    click.echo(f"invalid policy: {count} problem{'s' if count > 1 else ''}", err=True)
    sys.exit(1)


def _warn(text: str, source: str) -> None:
    try:
        document = read_document(text, source)
    except PolicyError:
        return
    for warning in warnings_for(document, source, text):
        click.echo(warning.format(), err=True)


def load_draft(file: Path, org_file: Path | None = None) -> EffectivePolicy:
    """The effective policy of a draft FILE (org policy, or repo policy over ``org_file``)."""
    text = file.read_text(encoding="utf-8")
    try:
        if org_file is None:
            result = effective_policy(load_default_policy(), text, None, org_source=str(file))
        else:
            result = effective_policy(
                load_default_policy(),
                org_file.read_text(encoding="utf-8"),
                text,
                org_source=str(org_file),
                repo_source=str(file),
            )
    except PolicyError as error:
        _fail_with(error, text, str(file))
    _warn(text, str(file))
    return result


@click.group()
def policy() -> None:
    """Validate and try out policy files."""


@policy.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--org-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The org policy the FILE (a repo policy) is layered over.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the effective policy as JSON.")
def check(file: Path, org_file: Path | None, as_json: bool) -> None:
    """Validate FILE and print the effective policy it produces.

    Without --org-file, FILE is read as the org policy over the shipped default; with it, FILE
    is the repository policy, which can only tighten the org policy.
    """
    result = load_draft(file, org_file)
    document = result.policy.model_dump(mode="json")
    if as_json:
        click.echo(
            json.dumps(
                {
                    "policy": document,
                    "sha": result.sha,
                    "sources": list(result.sources),
                    "ignored": list(result.ignored),
                },
                indent=2,
            )
        )
        return
    click.echo(f"# valid: effective policy from {', '.join(result.sources)}")
    click.echo(f"# policy sha256: {result.sha}")
    for note in result.ignored:
        click.echo(f"# ignored (a repository policy can only tighten): {note}")
    click.echo(yaml.safe_dump(document, sort_keys=False), nl=False)


@policy.command("simulate")
@click.argument("repo")
@click.argument("number", type=click.IntRange(1))
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Judge with this draft policy (read like `policy check FILE`) instead of the one "
    "in force.",
)
@click.option(
    "--org-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --policy: the draft is a repository policy layered over this org policy.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
def simulate(
    repo: str, number: int, policy_file: Path | None, org_file: Path | None, as_json: bool
) -> None:
    """Evaluate pull request NUMBER of REPO (owner/name) now, without publishing anything."""
    from github_app.cli.exit_codes import ConfigurationError
    from github_app.cli.simulate import simulate_pull_request

    if org_file is not None and policy_file is None:
        raise click.UsageError("--org-file needs --policy")
    draft = load_draft(policy_file, org_file) if policy_file else None
    settings = settings_or_exit()
    if settings.setup_mode:
        raise ConfigurationError("configuration error: GITHUB_APP_ID is not set")
    evaluation = asyncio.run(simulate_pull_request(settings, repo, number, policy=draft))
    decision, attribution = evaluation.decision, evaluation.attribution
    if as_json:
        click.echo(
            json.dumps(
                {
                    "decision": decision.model_dump(mode="json"),
                    "attribution": attribution.model_dump(mode="json"),
                },
                indent=2,
            )
        )
        return
    click.echo(
        f"{repo}#{number}: {decision.state} ({'passing' if decision.passing else 'not passing'})"
    )
    click.echo(decision.title)
    click.echo(decision.summary)
    for step in decision.to_pass:
        click.echo(f"  - {step}")


@policy.command("schema")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the JSON Schema here instead of printing it.",
)
def schema(output: Path | None) -> None:
    """Print (or write) the JSON Schema of countersign.yml."""
    from github_app.policy.model import schema_text

    document = schema_text()
    if output is None:
        click.echo(document, nl=False)
    else:
        output.write_text(document, encoding="utf-8")
