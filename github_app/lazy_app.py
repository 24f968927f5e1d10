"""Sub-applications whose code is imported on their first request, so the server starts fast.

The auditor API, the agent hook endpoint and the console import most of the package (pydantic
models, the OpenAPI table, Jinja2, attestations, drills) but none of it is needed to take a
webhook delivery.  :func:`lazy_subapp` mounts such a part from a route index alone: every
``(method, path)`` is registered up front, so aiohttp resolves, answers 404 and 405 exactly as
it would with the code loaded.  The first request imports ``"module:function"`` in a worker
thread (the event loop keeps answering health checks and webhooks meanwhile); that function
returns :class:`Loaded` — one handler per declared route, checked against the index, and the
middlewares to run around them.  From then on each route calls its handler directly.

Each route's stand-in takes on its handler's attributes once loaded (``functools.wraps``), so
middlewares that read marks from ``request.match_info.route.handler`` see the real ones.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]
RouteKey = tuple[str, str]  # (METHOD, path) as registered on the sub-application


@dataclass(frozen=True)
class Loaded:
    """What a lazy part's loader returns: its handlers by route, and its middlewares."""

    handlers: Mapping[RouteKey, Handler]
    middlewares: Sequence[Middleware] = ()


class _Part:
    """The loading state of one lazy sub-application."""

    def __init__(self, routes: Sequence[RouteKey], target: str) -> None:
        self.routes = tuple(routes)
        self.target = target
        self.stand_ins: dict[RouteKey, Handler] = {}
        self.loaded: Loaded | None = None
        self._loading: asyncio.Future[Loaded] | None = None

    def _import(self) -> Loaded:
        module_name, function = self.target.split(":")
        loaded: Loaded = getattr(importlib.import_module(module_name), function)()
        if set(loaded.handlers) != set(self.routes):
            # The index and the code disagree: a programming error, refused before any call.
            raise RuntimeError(
                f"{self.target} serves {sorted(loaded.handlers)}, the index says {self.routes}"
            )
        return loaded

    async def load(self) -> Loaded:
        """Import the part once (concurrent first requests share the import)."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(asyncio.to_thread(self._import))
        try:
            loaded = await asyncio.shield(self._loading)
        except Exception:
            self._loading = None  # let a later request try again
            raise
        if self.loaded is None:
            for key, stand_in in self.stand_ins.items():
                functools.update_wrapper(stand_in, loaded.handlers[key])
            self.loaded = loaded
        return loaded

    def stand_in(self, key: RouteKey) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            loaded = self.loaded or await self.load()
            return await loaded.handlers[key](request)

        self.stand_ins[key] = handle
        return handle


def lazy_subapp(routes: Sequence[RouteKey], target: str) -> web.Application:
    """A sub-application serving ``routes`` with the code ``target`` loads on first request.

    ``target`` is ``"module:function"``; the function takes no argument and returns
    :class:`Loaded`.  Mount the result with ``app.add_subapp(prefix, ...)``.
    """
    part = _Part(routes, target)

    @web.middleware
    async def load_then_run(request: web.Request, handler: Handler) -> web.StreamResponse:
        loaded = part.loaded or await part.load()
        for middleware in reversed(loaded.middlewares):
            handler = functools.partial(middleware, handler=handler)
        return await handler(request)

    sub = web.Application(middlewares=[load_then_run])
    for method, path in part.routes:
        sub.router.add_route(method, path, part.stand_in((method, path)))
    return sub
