"""Keys for what the aiohttp application holds, shared by every layer that serves HTTP.

The services are held untyped here so this module depends on nothing; each reader states the
part it uses as a Protocol (``webhooks.receiver.IntakeServices``, ``api.access.ApiServices``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

SERVICES: web.AppKey[Any] = web.AppKey("services")
