"""CODEOWNERS parsing and GitHub's pattern semantics (docs: "About code owners")."""

from __future__ import annotations

import pytest

from github_app.policy.codeowners import matches, owned_groups, parse

# (pattern, path, owned?) — GitHub's documented examples first, then gitignore corners.
PATTERNS = [
    ("*", "README.md", True),
    ("*", "src/deep/file.py", True),
    ("*.js", "app.js", True),
    ("*.js", "web/src/app.js", True),
    ("*.js", "app.jsx", False),
    ("*.go", "docs/main.go", True),
    ("/build/logs/", "build/logs/today.log", True),
    ("/build/logs/", "build/logs/2026/today.log", True),
    ("/build/logs/", "src/build/logs/today.log", False),
    ("docs/*", "docs/getting-started.md", True),
    ("docs/*", "docs/build-app/troubleshooting.md", False),
    ("docs/*", "src/docs/readme.md", False),
    ("apps/", "apps/web/index.js", True),
    ("apps/", "services/apps/api.py", True),
    ("apps/", "apps", False),
    ("/docs/", "docs/a/b/c.md", True),
    ("/docs/", "src/docs/a.md", False),
    ("**/logs", "logs/x.log", True),
    ("**/logs", "deep/down/logs/x.log", True),
    ("/scripts/**", "scripts/a/b.sh", True),
    ("/apps/github", "apps/github/x.rb", True),
    ("/apps/github", "apps/githubber", False),
    ("README", "README", True),
    ("README", "docs/README", True),
    ("Makefile", "makefile", False),  # case-sensitive
    ("src/?.py", "src/a.py", True),
    ("src/?.py", "src/ab.py", False),
]


@pytest.mark.parametrize(("pattern", "path", "owned"), PATTERNS)
def test_pattern_semantics(pattern, path, owned):
    assert matches(pattern, path) is owned


def test_last_match_wins_and_a_line_without_owners_clears_ownership():
    owners = parse(
        "# comment\n"
        "*       @acme/everyone\n"
        "/apps/  @octocat   # trailing comment\n"
        "/apps/github\n"
        "*.pem   @acme/security alice@example.com\n",
        ".github/CODEOWNERS",
    )
    assert owners.rule_for("src/x.py").teams == ("acme/everyone",)
    assert owners.rule_for("apps/web.py").users == ("octocat",)
    assert owners.rule_for("apps/github/a.rb") is None
    pem = owners.rule_for("apps/key.pem")
    assert pem.teams == ("acme/security",) and pem.emails == ("alice@example.com",)
    assert [i.line for i in owners.ignored] == [4]
    assert "clears" in owners.ignored[0].reason


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("!secrets/ @acme/sec", "negation"),
        ("src/[ab].py @acme/sec", "character ranges"),
        ("\\#notes.md @acme/sec", "escaping #"),
        ("src/ not-an-owner", "invalid owner"),
    ],
)
def test_lines_github_ignores_are_reported_and_skipped(line, reason):
    owners = parse(f"* @acme/all\n{line}\n", "CODEOWNERS")
    assert [i.line for i in owners.ignored] == [2]
    assert reason in owners.ignored[0].reason
    assert len(owners.rules) == 1


def test_changed_files_are_grouped_by_the_rule_that_owns_them():
    owners = parse("/infra/ @acme/platform\n*.md @docs-lead\n", "CODEOWNERS")
    groups = owned_groups(owners, ["infra/a.tf", "README.md", "src/x.py", "infra/b.tf"])
    assert [(rule.pattern, paths) for rule, paths in groups] == [
        ("/infra/", ("infra/a.tf", "infra/b.tf")),
        ("*.md", ("README.md",)),
    ]
