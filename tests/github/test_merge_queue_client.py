"""The merge queue's GraphQL query against the fake GitHub's GraphQL endpoint.

The fake validates every query against the merge queue part of GitHub's GraphQL schema, so a
misspelt field or a missing variable fails like it would on GitHub.
"""

from __future__ import annotations

import pytest
from gidgethub import GraphQLException

from github_app.config import github_graphql_url
from github_app.github.merge_queue import merge_queue_entries

NODE = {
    "position": 1,
    "state": "AWAITING_CHECKS",
    "headCommit": {"oid": "c" * 40},
    "baseCommit": {"oid": "b" * 40},
    "pullRequest": {"number": 7, "headRefOid": "7" * 40},
}


async def test_entries_are_read_with_an_installation_token(github, github_client):
    github.merge_queues[("acme/api", "main")] = [NODE]
    gh = await github_client.for_installation(11)
    (entry,) = await merge_queue_entries(gh, github.base_url, "acme/api", "main")
    assert (entry.pr_number, entry.pr_head_sha, entry.head_commit) == (7, "7" * 40, "c" * 40)
    (sent,) = github.requests("POST", "^/api/graphql$")
    assert str(sent.url) == github_graphql_url(github.base_url)
    assert sent.headers["authorization"].startswith("token ghs_fake11")


async def test_a_branch_without_a_queue_has_no_entries(github, github_client):
    gh = await github_client.for_installation(11)
    assert await merge_queue_entries(gh, github.base_url, "acme/api", "main") == ()


async def test_a_query_github_would_reject_is_a_violation(github, github_client):
    gh = await github_client.for_installation(11)
    with pytest.raises(GraphQLException):
        await gh.graphql(
            'query { repository(owner: "a", name: "b") { mergeQueu { entries { nodes '
            "{ position } } } } }",
            endpoint=github_graphql_url(github.base_url),
        )
    (violation,) = github.pop_violations()
    assert "mergeQueu" in violation
