"""The witness job: publish every signed checkpoint to the witness repository.

Runs with the other periodic jobs.  Each run lists the checkpoint files already on the witness
branch (one tree request) and commits the missing ones in size order, so a failed run is simply
finished by the next one and nothing is published twice.  ``COUNTERSIGN_WITNESS_REPO`` names
the repository (``OWNER/REPO``, or a bare name looked up in the App's organisation
installation); an empty value turns witnessing off.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from github_app.context import AppServices
from github_app.github.witness import WitnessRepo, publish_missing
from github_app.logs import get_logger

log = get_logger(__name__)


class WitnessUnavailable(Exception):
    """The witness repository cannot be found or reached as configured."""


async def resolve_witness_repo(github: Any, setting: str, branch: str) -> WitnessRepo:
    """``OWNER/REPO`` as given, or the one organisation installation's repository of that name."""
    if "/" in setting:
        return WitnessRepo(setting, branch)
    found: list[str] = []
    async for installation in github.as_app().getiter("/app/installations"):
        account = installation.get("account") or {}
        if installation.get("suspended_at") or account.get("type") != "Organization":
            continue
        try:
            await github.as_app().getitem(f"/repos/{account['login']}/{setting}/installation")
        except BadRequest as error:
            if error.status_code == 404:
                continue
            raise
        found.append(f"{account['login']}/{setting}")
    if len(found) != 1:
        where = ", ".join(found) or "no organisation installation"
        raise WitnessUnavailable(
            f"COUNTERSIGN_WITNESS_REPO={setting!r} must name one repository (found: {where}); "
            "set it to OWNER/REPO"
        )
    return WitnessRepo(found[0], branch)


async def witness_api(github: Any, repo: WitnessRepo) -> GitHubAPI:
    """An API acting as the installation that covers the witness repository."""
    try:
        installation = await github.as_app().getitem(f"{repo.base}/installation")
    except BadRequest as error:
        raise WitnessUnavailable(
            f"the App is not installed on the witness repository {repo.full_name}"
        ) from error
    return await github.for_installation(installation["id"])


async def witness_checkpoints(services: AppServices) -> list[int]:
    """Publish the checkpoints not yet witnessed; returns their sizes."""
    settings = services.settings
    if not settings.countersign_witness_repo or services.github is None:
        return []
    try:
        repo = await resolve_witness_repo(
            services.github, settings.countersign_witness_repo, settings.countersign_witness_branch
        )
        gh = await witness_api(services.github, repo)
    except WitnessUnavailable as error:
        log.warning("witness_unavailable", reason=str(error))
        return []
    checkpoints = await asyncio.to_thread(services.ledger.checkpoints)
    try:
        published = await publish_missing(gh, repo, checkpoints)
    except BadRequest as error:
        if error.status_code not in (403, 404, 409):
            raise  # a conflict on the branch (422) or an outage: the next run tries again
        # 403/404: no Contents write on the repository; 409: the repository is empty.
        log.warning("witness_refused", repo=repo.full_name, status=error.status_code)
        return []
    if published:
        log.info("checkpoints_witnessed", repo=repo.full_name, sizes=published)
    return published
