"""Keys for what the aiohttp application holds, shared by every layer that serves HTTP.

The services are held untyped here so this module depends on nothing; each reader states the
part it uses as a Protocol (``webhooks.receiver.IntakeServices``, ``api.access.ApiServices``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

SERVICES: web.AppKey[Any] = web.AppKey("services")
# Started in the background after a freeze, unfreeze or revocation through the API, with the
# ``github_app.api.freeze_revoke.ContainmentEvent`` (see :mod:`github_app.api.routes`).
ON_CONTAINMENT_CHANGE: web.AppKey[Callable[[Any], Awaitable[None]]] = web.AppKey(
    "on_containment_change"
)
