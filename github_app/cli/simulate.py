"""Evaluate one pull request from the command line, with the App's own credentials.

Nothing is published and nothing is recorded.  The configured store is read (for freezes and
revoked sessions) when it exists; otherwise a throw-away store stands in, so a simulation never
creates the real one.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from github_app.config import Settings
from github_app.context import HandlerContext
from github_app.core import github_json
from github_app.handlers.pipeline import Evaluation, evaluate_pull_request
from github_app.policy.loader import EffectivePolicy
from github_app.services import Services


def _store_exists(settings: Settings) -> bool:
    sqlite_path = settings.sqlite_path
    store = sqlite_path is None or sqlite_path.is_file()
    return store and settings.countersign_signing_key_path.is_file()


async def simulate_pull_request(
    settings: Settings, repo: str, number: int, *, policy: EffectivePolicy | None = None
) -> Evaluation:
    """Fetch and evaluate ``repo#number`` without publishing a check run or ledger entry."""
    if _store_exists(settings):
        return await _simulate(settings, repo, number, policy)
    with tempfile.TemporaryDirectory(prefix="countersign-simulate-") as scratch:
        stand_in = settings.model_copy(
            update={
                "database_url": f"sqlite:///{Path(scratch) / 'simulate.db'}",
                "countersign_signing_key_path": Path(scratch) / "simulate.key",
            }
        )
        return await _simulate(stand_in, repo, number, policy)


async def _simulate(
    settings: Settings, repo: str, number: int, policy: EffectivePolicy | None
) -> Evaluation:
    services = await Services.start(settings)
    try:
        assert services.github is not None
        installation = await services.github.as_app().getitem(f"/repos/{repo}/installation")
        gh = await services.github.for_installation(installation["id"])
        pr_json = await gh.getitem(f"/repos/{repo}/pulls/{number}")
        pr = github_json.pull_request(pr_json, pr_json["base"]["repo"])
        ctx = HandlerContext(services, gh, None, None, installation["id"])
        return await evaluate_pull_request(ctx, pr, draft_policy=policy)
    finally:
        await services.close()
