"""Read a merge queue's entries from GitHub's GraphQL API (REST has no merge queue endpoint).

This is the one place Countersign speaks GraphQL.  It goes through the same installation
session as every REST call (gidgethub's ``graphql``), at the GraphQL endpoint that belongs to
the configured REST root, so GitHub Enterprise Server works the same way.
"""

from __future__ import annotations

from gidgethub.abc import GitHubAPI

from github_app.config import github_graphql_url
from github_app.policy.merge_group import QueueEntry, queue_entries

# `branch` is case-sensitive; 100 is GitHub's page limit and far above any queue's build
# concurrency, and a group can only hold entries up to its own position.
MERGE_QUEUE_QUERY = """
query MergeQueueEntries($owner: String!, $name: String!, $branch: String!) {
  repository(owner: $owner, name: $name) {
    mergeQueue(branch: $branch) {
      entries(first: 100) {
        nodes {
          position
          state
          headCommit { oid }
          baseCommit { oid }
          pullRequest { number headRefOid }
        }
      }
    }
  }
}
"""


async def merge_queue_entries(
    gh: GitHubAPI, api_url: str, repo: str, branch: str
) -> tuple[QueueEntry, ...]:
    """The entries of ``repo``'s merge queue for ``branch``, in queue order (empty: no queue)."""
    owner, name = repo.split("/", 1)
    data = await gh.graphql(
        MERGE_QUEUE_QUERY,
        endpoint=github_graphql_url(api_url),
        owner=owner,
        name=name,
        branch=branch,
    )
    queue = ((data or {}).get("repository") or {}).get("mergeQueue") or {}
    return queue_entries((queue.get("entries") or {}).get("nodes") or ())
