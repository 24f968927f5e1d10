"""``GET /api/v1/attestations/{sha}`` and ``GET /api/v1/pack``: evidence to take away.

Mounted by :func:`github_app.api.routes.add_api_routes` on the same sub-application, so the
same middleware authenticates (auditor role), answers errors as JSON and writes the access log.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from github_app.api.attestations import UnknownChange, attestation, parse_sha
from github_app.api.auth import ApiError, requires, services_of
from github_app.api.pack import PackUnavailable, build_pack
from github_app.evidence.attestation import web_root
from github_app.evidence.params import InvalidParameter, parse_int, parse_text, parse_timestamp
from github_app.evidence.sample import DEFAULT_SAMPLE_SIZE, MAX_SAMPLE_SIZE, new_seed

MAX_SEED = 128


def _web_url(services) -> str:
    return web_root(services.settings.github_api_url)


def _known_policies(services) -> list:
    policy = getattr(services, "default_policy", None)
    return [policy] if policy is not None else []


@requires("auditor")
async def get_attestation(request: web.Request) -> web.Response:
    """``GET /attestations/{sha}``: the signed in-toto attestation of a merged change."""
    try:
        sha = parse_sha(request.match_info["sha"])
    except ValueError as error:
        raise InvalidParameter(str(error)) from None
    services = services_of(request)
    signer = services.ledger.signer
    if signer is None:
        raise ApiError(503, "no ledger signing key: attestations cannot be signed")
    try:
        envelope = await asyncio.to_thread(
            attestation, services.ledger, sha, signer, _web_url(services)
        )
    except UnknownChange as error:
        raise ApiError(404, str(error)) from None
    return web.json_response(envelope)


@requires("auditor")
async def get_pack(request: web.Request) -> web.Response:
    """``GET /pack?since=&until=&n=&seed=``: the signed audit pack of a period (zip)."""
    query = request.query
    since = parse_timestamp("since", query.get("since"))
    until = parse_timestamp("until", query.get("until"))
    if since is None or until is None:
        raise InvalidParameter("since and until: both are required")
    if since >= until:
        raise InvalidParameter("since: must be before until")
    n = parse_int("n", query.get("n"), default=DEFAULT_SAMPLE_SIZE, low=1, high=MAX_SAMPLE_SIZE)
    seed = parse_text("seed", query.get("seed")) or new_seed()
    if len(seed) > MAX_SEED:
        raise InvalidParameter(f"seed: at most {MAX_SEED} characters")
    services = services_of(request)
    try:
        body = await asyncio.to_thread(
            build_pack,
            services.ledger,
            since=since,
            until=until,
            n=n,
            seed=seed,
            web_url=_web_url(services),
            known_policies=_known_policies(services),
        )
    except PackUnavailable as error:
        raise ApiError(409, str(error)) from None
    name = f"countersign-pack-{since:%Y%m%d}-{until:%Y%m%d}.zip"
    return web.Response(
        body=body,
        content_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def add_auditor_routes(api: web.Application) -> None:
    """Add the attestation and pack routes to the ``/api/v1`` sub-application."""
    api.router.add_get("/attestations/{sha}", get_attestation, allow_head=False)
    api.router.add_get("/pack", get_pack, allow_head=False)
