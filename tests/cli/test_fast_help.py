"""``countersign --help`` lists every command family without importing any of them."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from github_app.cli.root import COMMAND_FAMILIES, FAMILY_SUMMARIES, main


def test_the_listed_summaries_are_the_commands_own_help():
    ctx = click.Context(main)
    assert set(FAMILY_SUMMARIES) == set(COMMAND_FAMILIES)
    for name in COMMAND_FAMILIES:
        command = main.get_command(ctx, name)
        for limit in (40, 60, 200):
            summary = click.Command(name, help=FAMILY_SUMMARIES[name])
            assert summary.get_short_help_str(limit) == command.get_short_help_str(limit), name


def test_help_lists_every_family():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in [*COMMAND_FAMILIES, "serve"]:
        assert f"\n  {name} " in result.output


def test_help_imports_no_command_family():
    probe = (
        "import sys\n"
        "sys.argv = ['countersign', '--help']\n"
        "from github_app.__main__ import console_main\n"
        "try:\n    console_main()\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in sys.modules if m.startswith(('github_app.cli.', 'aiohttp', "
        "'sqlalchemy', 'github_app.api'))]\n"
        "light = {'github_app.cli.root', 'github_app.cli.exit_codes'}\n"
        "print(sorted(m for m in heavy if m not in light))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip().splitlines()[-1] == "[]"
