"""Publish checkpoints to the witness repository, and read them back (GitHub adapter).

One commit per checkpoint through the Git database API — create a blob, a tree on top of the
branch's tree, a commit whose parent is the branch head, then move the branch (never forced) —
so GitHub's history timestamps every checkpoint and a rewrite would need a force push, which
the repository's branch rules can forbid.  The App needs ``contents: write`` on that one
repository only (an installation limited to selected repositories can grant it there alone).

The repository must exist with at least one commit on the branch (create it with a README);
the Git database API cannot write to an empty repository.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from gidgethub.abc import GitHubAPI

from github_app.evidence.witness import (
    WITNESS_DIR,
    commit_message,
    witness_document,
    witness_path,
)
from github_app.ledger.checkpoints import Checkpoint


@dataclass(frozen=True)
class WitnessRepo:
    """Where checkpoints are witnessed: ``owner/name`` and a branch."""

    full_name: str
    branch: str = "main"

    @property
    def base(self) -> str:
        """The REST path of the repository."""
        owner, name = self.full_name.split("/", 1)
        return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    @property
    def ref(self) -> str:
        """The branch as a ref path below ``git/ref``."""
        return f"heads/{quote(self.branch, safe='/')}"


async def _head(gh: GitHubAPI, repo: WitnessRepo) -> tuple[str, str]:
    """(commit SHA, tree SHA) at the tip of the branch."""
    ref = await gh.getitem(f"{repo.base}/git/ref/{repo.ref}")
    commit_sha = ref["object"]["sha"]
    commit = await gh.getitem(f"{repo.base}/git/commits/{commit_sha}")
    return commit_sha, commit["tree"]["sha"]


async def witnessed_files(gh: GitHubAPI, repo: WitnessRepo) -> dict[str, str]:
    """Every ``checkpoints/*.json`` file on the branch: path -> text."""
    _, tree_sha = await _head(gh, repo)
    tree = await gh.getitem(f"{repo.base}/git/trees/{tree_sha}?recursive=1")
    files: dict[str, str] = {}
    for item in tree.get("tree", []):
        path = item.get("path", "")
        if item.get("type") != "blob" or not path.startswith(f"{WITNESS_DIR}/"):
            continue
        blob = await gh.getitem(f"{repo.base}/git/blobs/{item['sha']}")
        files[path] = base64.b64decode(blob.get("content", "")).decode("utf-8", "replace")
    return files


async def witnessed_paths(gh: GitHubAPI, repo: WitnessRepo) -> set[str]:
    """The checkpoint files already on the branch (names only: one request)."""
    _, tree_sha = await _head(gh, repo)
    tree = await gh.getitem(f"{repo.base}/git/trees/{tree_sha}?recursive=1")
    return {
        item["path"]
        for item in tree.get("tree", [])
        if item.get("type") == "blob" and item.get("path", "").startswith(f"{WITNESS_DIR}/")
    }


async def publish_checkpoint(gh: GitHubAPI, repo: WitnessRepo, checkpoint: Checkpoint) -> str:
    """Commit one checkpoint file on the branch; returns the new commit's SHA."""
    parent, base_tree = await _head(gh, repo)
    blob = await gh.post(
        f"{repo.base}/git/blobs",
        data={"content": witness_document(checkpoint), "encoding": "utf-8"},
    )
    tree = await gh.post(
        f"{repo.base}/git/trees",
        data={
            "base_tree": base_tree,
            "tree": [
                {
                    "path": witness_path(checkpoint.size),
                    "mode": "100644",
                    "type": "blob",
                    "sha": blob["sha"],
                }
            ],
        },
    )
    commit = await gh.post(
        f"{repo.base}/git/commits",
        data={"message": commit_message(checkpoint), "tree": tree["sha"], "parents": [parent]},
    )
    await gh.patch(f"{repo.base}/git/refs/{repo.ref}", data={"sha": commit["sha"], "force": False})
    return commit["sha"]


# Each checkpoint costs four writes; GitHub asks for at most 80 content-creating requests a
# minute, so commits are spaced and a run catching up on a long history stops after a batch.
SECONDS_BETWEEN_COMMITS = 3.0
MAX_COMMITS_PER_RUN = 100


async def publish_missing(
    gh: GitHubAPI,
    repo: WitnessRepo,
    checkpoints: Iterable[Checkpoint],
    *,
    limit: int | None = None,
) -> list[int]:
    """Publish, in size order, up to ``limit`` (default ``MAX_COMMITS_PER_RUN``) checkpoints
    not yet on the branch.

    Returns their sizes; the next run publishes the rest.
    """
    present = await witnessed_paths(gh, repo)
    ordered = sorted(checkpoints, key=lambda c: c.size)
    missing = [c for c in ordered if witness_path(c.size) not in present]
    missing = missing[: limit or MAX_COMMITS_PER_RUN]
    published: list[int] = []
    for checkpoint in missing:
        if published:
            await gh.sleep(SECONDS_BETWEEN_COMMITS)
        await publish_checkpoint(gh, repo, checkpoint)
        published.append(checkpoint.size)
    return published
