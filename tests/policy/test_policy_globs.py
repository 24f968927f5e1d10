"""Path globs used by path rules."""

from __future__ import annotations

import pytest

from github_app.policy.globs import matching_paths, path_matches

CASES = [
    ("infra/**", "infra/main.tf", True),
    ("infra/**", "infra/prod/eu/main.tf", True),
    ("infra/**", "src/infra/main.tf", False),
    ("infra/**", "infrastructure/main.tf", False),
    ("infra/*.tf", "infra/main.tf", True),
    ("infra/*.tf", "infra/prod/main.tf", False),
    ("*.pem", "certs/deep/key.pem", True),
    ("*.pem", "key.pem", True),
    ("*.pem", "key.pem.txt", False),
    ("**/secrets/**", "a/b/secrets/c", True),
    ("**/secrets/**", "secrets/c", True),
    ("secrets/", "secrets/prod/db.env", True),
    ("/Makefile", "Makefile", True),
    ("/Makefile", "sub/Makefile", False),
    ("Makefile", "sub/Makefile", True),
    ("db/migrations/**/*.sql", "db/migrations/001.sql", True),
    ("db/migrations/**/*.sql", "db/migrations/2024/001.sql", True),
    ("file?.txt", "file1.txt", True),
    ("file?.txt", "file/.txt", False),
    ("a+b(c).txt", "a+b(c).txt", True),
    ("Secrets/**", "secrets/x", False),
]


@pytest.mark.parametrize(("pattern", "path", "expected"), CASES)
def test_path_matches(pattern, path, expected):
    assert path_matches(pattern, path) is expected


def test_matching_paths_keeps_order():
    paths = ("b/x.pem", "a.txt", "a/y.pem")
    assert matching_paths("*.pem", paths) == ("b/x.pem", "a/y.pem")
