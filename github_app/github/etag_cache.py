"""A per-identity view of one shared ETag cache, in the shape gidgethub's ``cache`` expects.

gidgethub keys its conditional-request cache by URL alone. Two installations can GET the same
URL (``/installation/repositories``, say) and must never be served each other's bodies, so each
GitHubAPI instance gets a view whose keys are prefixed with its identity. Bodies are copied on
the way in and out so a caller mutating a response cannot corrupt what others are served.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, MutableMapping
from typing import Any

from cachetools import LRUCache

# gidgethub stores (etag, last_modified, parsed body, next-page URL) per URL.
Entry = tuple[str | None, str | None, Any, str | None]


def new_etag_store(maxsize: int = 2048) -> LRUCache[tuple[str, str], Entry]:
    """The process-wide LRU holding every identity's cached responses."""
    return LRUCache(maxsize=maxsize)


class ScopedETagCache(MutableMapping[str, Entry]):
    """The slice of a shared ETag store that belongs to one identity."""

    def __init__(self, store: MutableMapping[tuple[str, str], Entry], scope: str):
        """``scope`` names the identity, e.g. ``installation:42`` or ``app``."""
        self._store = store
        self._scope = scope

    def __getitem__(self, url: str) -> Entry:
        """Return a copy of the cached entry for ``url``."""
        etag, last_modified, body, more = self._store[(self._scope, url)]
        return etag, last_modified, copy.deepcopy(body), more

    def __setitem__(self, url: str, entry: Entry) -> None:
        """Store a copy of ``entry`` under this identity."""
        etag, last_modified, body, more = entry
        self._store[(self._scope, url)] = (etag, last_modified, copy.deepcopy(body), more)

    def __delitem__(self, url: str) -> None:
        """Drop the entry for ``url``."""
        del self._store[(self._scope, url)]

    def __iter__(self) -> Iterator[str]:
        """URLs cached for this identity."""
        return (url for scope, url in list(self._store) if scope == self._scope)

    def __len__(self) -> int:
        """Number of URLs cached for this identity."""
        return sum(1 for _ in self)
