"""Files read from GitHub at a commit, cached per identity — including "there is no such file".

Policy files (and CODEOWNERS) are read on every event.  GitHub answers a missing file with a
404 that carries no ETag, so the conditional-request cache cannot help and a repository without
a policy file would cost a call per event.  A file at a commit SHA never changes, though: its
text, or its absence, is cached for good (LRU) under (identity, repository, path, SHA).

The organisation policy lives on the default branch of the ``.github`` repository, so it is
keyed by that branch's head SHA, looked up with a conditional request (a 304 is free).  When the
organisation has no ``.github`` repository (404, uncacheable by ETag) that answer is kept for
``ABSENT_REPO_TTL`` seconds: a newly created ``.github`` policy applies within that time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from cachetools import LRUCache, TTLCache

FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
ABSENT_REPO_TTL = 60.0

FileKey = tuple[str, str, str, str]  # identity, repository, path, commit SHA


def is_commit_sha(ref: str | None) -> bool:
    """True for a full commit SHA: what a file can be cached by (a branch moves)."""
    return ref is not None and FULL_SHA.match(ref) is not None


class FileCache:
    """The process-wide store; each GitHub identity sees it through a :class:`FileView`."""

    def __init__(self, maxsize: int = 4096, clock: Callable[[], float] = time.monotonic) -> None:
        self.files: LRUCache[FileKey, str | None] = LRUCache(maxsize=maxsize)
        self.absent_repos: TTLCache[tuple[str, str], bool] = TTLCache(
            maxsize=1024, ttl=ABSENT_REPO_TTL, timer=clock
        )

    def view(self, scope: str) -> FileView:
        """The part of the cache that belongs to one identity (``installation:42``)."""
        return FileView(self, scope)


class FileView:
    """One identity's cached files and known-missing repositories."""

    def __init__(self, cache: FileCache, scope: str) -> None:
        self._cache = cache
        self._scope = scope

    def get(self, repo: str, path: str, sha: str) -> tuple[bool, str | None]:
        """(found in the cache, text or ``None`` for a missing file)."""
        key = (self._scope, repo, path, sha)
        if key in self._cache.files:
            return True, self._cache.files[key]
        return False, None

    def put(self, repo: str, path: str, sha: str, text: str | None) -> None:
        """Remember the file's text at ``sha`` (``None``: it does not exist there)."""
        self._cache.files[(self._scope, repo, path, sha)] = text

    def repo_known_absent(self, repo: str) -> bool:
        """True when ``repo`` answered 404 within the last ``ABSENT_REPO_TTL`` seconds."""
        return (self._scope, repo) in self._cache.absent_repos

    def mark_repo_absent(self, repo: str) -> None:
        """Remember for a while that ``repo`` does not exist (or is not visible)."""
        self._cache.absent_repos[(self._scope, repo)] = True
