"""Dispatch: hand one stored delivery to the handlers of its event, with an installation session.

The worker calls this for each delivery it takes from the inbox; the handlers get a
:class:`~github_app.context.HandlerContext` and never see the process's composition root.
"""

from __future__ import annotations

import json
from typing import Any

from gidgethub import routing, sansio

from github_app.context import AppServices, HandlerContext
from github_app.handlers import (
    checks,
    installation,
    membership,
    merge_group,
    pull_request,
    push,
    retarget,
    reviews,
    rulesets,
)
from github_app.logs import get_logger
from github_app.webhooks.inbox import Delivery

log = get_logger(__name__)

ROUTER = routing.Router(
    pull_request.router,
    reviews.router,
    checks.router,
    push.router,
    installation.router,
    rulesets.router,
    merge_group.router,
    membership.router,
    retarget.router,
)

# Events whose installation can no longer mint tokens; handlers get no API session.
_NO_TOKEN_ACTIONS = {("installation", "deleted"), ("installation", "suspend")}


async def dispatch(services: AppServices, delivery: Delivery) -> None:
    """Run one stored delivery through the event routers."""
    event = sansio.Event(
        json.loads(delivery.payload), event=delivery.event, delivery_id=delivery.delivery_id
    )
    if services.github is None or delivery.installation_id is None:
        log.warning("delivery_without_installation", delivery_id=delivery.delivery_id)
        return
    if (delivery.event, delivery.action) in _NO_TOKEN_ACTIONS:
        gh: Any = None
    else:
        gh = await services.github.for_installation(delivery.installation_id)
    ctx = HandlerContext(
        services, gh, delivery.delivery_id, delivery.payload_sha256, delivery.installation_id
    )
    await ROUTER.dispatch(event, ctx)
