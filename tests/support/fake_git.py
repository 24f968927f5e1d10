"""A repository's Git database on the fake GitHub: blobs, trees, commits and one branch.

``FakeGitRepository`` answers the Git database endpoints (``git/ref``, ``git/refs``,
``git/commits``, ``git/trees``, ``git/blobs``) statefully, the way GitHub does: objects are
content-addressed, a tree may extend a ``base_tree``, and updating a branch without ``force``
is refused (422) unless the new commit's parent is the current head.  Requests still pass
through the fake's OpenAPI validation first.  ``rewrite`` lets a test play an operator who
rewrites the branch behind the App's back.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.fake_github import FakeGitHub, example


def _sha(kind: str, body: Any) -> str:
    return hashlib.sha1(f"{kind}:{json.dumps(body, sort_keys=True)}".encode()).hexdigest()  # noqa: S324


@dataclass
class FakeGitRepository:
    """One repository's objects and its branch, served through ``github``."""

    github: FakeGitHub
    full_name: str
    branch: str = "main"
    installation_id: int = 4711
    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, dict[str, str]] = field(default_factory=dict)  # sha -> path -> blob sha
    commits: dict[str, dict[str, Any]] = field(default_factory=dict)
    head: str = ""

    def __post_init__(self) -> None:
        readme = self._blob(b"# Countersign ledger witness\n")
        tree = self._tree({"README.md": readme})
        self.head = self._commit("Initial commit", tree, [])
        base = f"/repos/{self.full_name}"
        installation = example("installation")
        installation["id"] = self.installation_id
        self.github.route("GET", f"{base}/installation", json=installation)
        self.github.route("GET", f"{base}/git/ref/heads/{self.branch}", handler=self._get_ref)
        self.github.route("PATCH", f"{base}/git/refs/heads/{self.branch}", handler=self._move)
        self.github.route("GET", f"{base}/git/commits/{{sha}}", handler=self._get_commit)
        self.github.route("POST", f"{base}/git/commits", handler=self._post_commit)
        self.github.route("GET", f"{base}/git/trees/{{sha}}", handler=self._get_tree)
        self.github.route("POST", f"{base}/git/trees", handler=self._post_tree)
        self.github.route("GET", f"{base}/git/blobs/{{sha}}", handler=self._get_blob)
        self.github.route("POST", f"{base}/git/blobs", handler=self._post_blob)

    # -- what tests look at ----------------------------------------------------------------

    def files(self) -> dict[str, str]:
        """The branch's files: path -> text."""
        tree = self.trees[self.commits[self.head]["tree"]]
        return {path: self.blobs[sha].decode() for path, sha in tree.items()}

    def history(self) -> list[str]:
        """Commit messages from the head back to the first commit."""
        messages, sha = [], self.head
        while sha:
            commit = self.commits[sha]
            messages.append(commit["message"])
            sha = commit["parents"][0] if commit["parents"] else ""
        return messages

    def rewrite(self, path: str, text: str) -> None:
        """Change a file on the branch as a force push would (for tamper tests)."""
        tree = dict(self.trees[self.commits[self.head]["tree"]])
        tree[path] = self._blob(text.encode())
        self.head = self._commit("rewrite", self._tree(tree), [])

    # -- object store ----------------------------------------------------------------------

    def _blob(self, content: bytes) -> str:
        sha = _sha("blob", content.decode("latin-1"))
        self.blobs[sha] = content
        return sha

    def _tree(self, entries: dict[str, str]) -> str:
        sha = _sha("tree", entries)
        self.trees[sha] = dict(entries)
        return sha

    def _commit(self, message: str, tree: str, parents: list[str]) -> str:
        body = {"message": message, "tree": tree, "parents": parents}
        sha = _sha("commit", body)
        self.commits[sha] = body
        return sha

    # -- handlers --------------------------------------------------------------------------

    def _get_ref(self, request: httpx.Request) -> httpx.Response:
        body = example("git-ref")
        body["ref"] = f"refs/heads/{self.branch}"
        body["object"] = {**body["object"], "sha": self.head, "type": "commit"}
        return httpx.Response(200, json=body)

    def _move(self, request: httpx.Request) -> httpx.Response:
        payload = json.loads(request.content)
        new = payload["sha"]
        if new not in self.commits:
            return httpx.Response(422, json={"message": "Object does not exist"})
        if not payload.get("force") and self.head not in self.commits[new]["parents"]:
            return httpx.Response(422, json={"message": "Update is not a fast forward"})
        self.head = new
        return self._get_ref(request)

    def _commit_body(self, sha: str) -> dict[str, Any]:
        body = example("git-commit")
        stored = self.commits[sha]
        body.update(sha=sha, message=stored["message"])
        body["tree"] = {**body["tree"], "sha": stored["tree"]}
        body["parents"] = [{"sha": p, "url": "u", "html_url": "h"} for p in stored["parents"]]
        return body

    def _get_commit(self, request: httpx.Request) -> httpx.Response:
        sha = self.github.api_path(request).rsplit("/", 1)[1]
        if sha not in self.commits:
            return httpx.Response(404, json={"message": "Not Found"})
        return httpx.Response(200, json=self._commit_body(sha))

    def _post_commit(self, request: httpx.Request) -> httpx.Response:
        payload = json.loads(request.content)
        if payload["tree"] not in self.trees or any(
            p not in self.commits for p in payload["parents"]
        ):
            return httpx.Response(422, json={"message": "Tree or parent SHA does not exist"})
        sha = self._commit(payload["message"], payload["tree"], payload["parents"])
        return httpx.Response(201, json=self._commit_body(sha))

    def _get_tree(self, request: httpx.Request) -> httpx.Response:
        sha = self.github.api_path(request).rsplit("/", 1)[1]
        if sha not in self.trees:
            return httpx.Response(404, json={"message": "Not Found"})
        items = [
            {"path": path, "mode": "100644", "type": "blob", "sha": blob, "size": 1, "url": "u"}
            for path, blob in sorted(self.trees[sha].items())
        ]
        return httpx.Response(200, json={"sha": sha, "url": "u", "tree": items, "truncated": False})

    def _post_tree(self, request: httpx.Request) -> httpx.Response:
        payload = json.loads(request.content)
        entries = dict(self.trees.get(payload.get("base_tree") or "", {}))
        for item in payload["tree"]:
            if item.get("sha") not in self.blobs:
                return httpx.Response(422, json={"message": "blob does not exist"})
            entries[item["path"]] = item["sha"]
        sha = self._tree(entries)
        body = example("git-tree")
        body.update(sha=sha, tree=[])
        return httpx.Response(201, json=body)

    def _get_blob(self, request: httpx.Request) -> httpx.Response:
        sha = self.github.api_path(request).rsplit("/", 1)[1]
        if sha not in self.blobs:
            return httpx.Response(404, json={"message": "Not Found"})
        body = example("blob")
        content = self.blobs[sha]
        body.update(sha=sha, size=len(content), content=base64.b64encode(content).decode())
        return httpx.Response(200, json=body)

    def _post_blob(self, request: httpx.Request) -> httpx.Response:
        payload = json.loads(request.content)
        content = payload["content"]
        raw = base64.b64decode(content) if payload.get("encoding") == "base64" else content.encode()
        body = example("short-blob")
        body["sha"] = self._blob(raw)
        return httpx.Response(201, json=body)
