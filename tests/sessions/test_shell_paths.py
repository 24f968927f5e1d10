"""Which paths a shell command names (github_app.sessions.shell), and the decisions they lead
to: table tests of the pure function, then through decide()."""

from __future__ import annotations

import pytest

from github_app.policy.model import PathRule, Policy
from github_app.sessions.adapters import parse_event
from github_app.sessions.decision import Containment, decide
from github_app.sessions.shell import shell_paths


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("cat secrets/k", [("secrets/k", "read")]),
        ("head -n 5 secrets/k", [("5", "read"), ("secrets/k", "read")]),
        ("tail -f logs/a secrets/k", [("logs/a", "read"), ("secrets/k", "read")]),
        ("less secrets/k", [("secrets/k", "read")]),
        ("grep -r password secrets/", [("secrets/", "read")]),
        ("grep secrets/ src/", [("src/", "read")]),  # the first operand is the pattern
        ("grep -e secrets/ src/", [("secrets/", "read"), ("src/", "read")]),
        ("rg -n token --glob=*.env .", [("*.env", "read"), (".", "read")]),
        ("sed -n 1p secrets/k", [("secrets/k", "read")]),
        ("sed -i s/a/b/ secrets/k", [("secrets/k", "write")]),
        ("awk '{print $1}' secrets/k", [("secrets/k", "read")]),
        ("awk -f prog.awk secrets/k", [("prog.awk", "read"), ("secrets/k", "read")]),
        ("cp secrets/k /var/k", [("secrets/k", "read"), ("/var/k", "write")]),
        ("mv secrets/k out", [("secrets/k", "write"), ("out", "write")]),
        (
            "tar czf out.tgz secrets",
            [("czf", "unknown"), ("out.tgz", "unknown"), ("secrets", "unknown")],
        ),
        ("base64 secrets/k", [("secrets/k", "read")]),
        ("xxd secrets/k", [("secrets/k", "read")]),
        ("dd if=secrets/k of=/var/x bs=1", [("secrets/k", "read"), ("/var/x", "write")]),
        ("tee secrets/k", [("secrets/k", "write")]),
        ("cat<secrets/k", [("secrets/k", "read")]),
        ("wc -l < secrets/k > /var/n", [("secrets/k", "read"), ("/var/n", "write")]),
        ("echo hi 2>&1 >> log", [("log", "write"), ("hi", "unknown"), ("2", "unknown")]),
        ("cat <<EOF", []),
        ("cd src && cat ../secrets/k", [("src", "unknown"), ("../secrets/k", "read")]),
        ("ls | xargs cat secrets/k", [("secrets/k", "read")]),
        ("echo $(cat secrets/k)", [("secrets/k", "read")]),
        ("echo `cat secrets/k`", [("secrets/k", "read")]),
        ("true; head secrets/k\ntail secrets/j", [("secrets/k", "read"), ("secrets/j", "read")]),
        ("PAGER=cat sudo -E less secrets/k", [("secrets/k", "read")]),
        ("timeout 5 cat secrets/k", [("secrets/k", "read")]),
        ("env -i /bin/cat secrets/k", [("secrets/k", "read")]),
        ('bash -c "cat secrets/k | base64"', [("secrets/k", "read")]),
        ("python dump.py secrets/k", [("dump.py", "unknown"), ("secrets/k", "unknown")]),
        ("git diff -- secrets/k", [("diff", "unknown"), ("secrets/k", "unknown")]),
        ("cat --number -- -weird", [("-weird", "read")]),
        ('cat "secrets/k', [("cat", "unknown"), ('"secrets/k', "unknown")]),  # unparseable
        ("pytest -q tests/test_a.py", [("tests/test_a.py", "unknown")]),
    ],
)
def test_shell_paths_finds_what_each_program_reads_and_writes(command, expected):
    assert shell_paths(command) == expected


POLICY = Policy(
    paths=(
        PathRule(pattern="secrets/**", agents_may_not_read=True),
        PathRule(pattern="infra/prod/**", agents_forbidden=True),
    )
)


def _bash(command: str):
    body = {
        "hook_event_name": "PreToolUse",
        "session_id": "s",
        "cwd": "/repo",
        "tool_name": "Bash",
        "tool_input": {"command": command},
    }
    return decide(parse_event(body)[0], Containment(), POLICY)


@pytest.mark.parametrize(
    ("command", "decision", "verb"),
    [
        ("cat secrets/k", "deny", "read"),
        ("head -c 100 /repo/secrets/k", "deny", "read"),
        ("grep -r AKIA secrets", "deny", "read"),
        ("sed -n p secrets/k | base64", "deny", "read"),
        ("awk 1 secrets/k", "deny", "read"),
        ("cp secrets/k /tmp/", "deny", "read"),
        ("mv secrets/k /tmp/", "deny", "change"),
        ("tar cf - secrets | gzip", "deny", "use"),
        ("xxd secrets/k", "deny", "read"),
        ("cd src; cat ../secrets/k", "deny", "read"),
        ("echo x > infra/prod/main.tf", "deny", "change"),
        ("cat infra/prod/main.tf", "deny", "read"),  # a shell path meets both rules
        ("grep secrets src/app.py", "allow", None),  # "secrets" is the pattern
        ("cat src/app.py | grep -c secrets", "allow", None),
        ("pytest -q tests", "allow", None),
    ],
)
def test_readers_of_a_forbidden_path_are_denied(command, decision, verb):
    verdict = _bash(command)
    assert ("allow" if verdict.allow else "deny") == decision
    if verb:
        assert f"agents to {verb} " in verdict.reason
