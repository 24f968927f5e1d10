"""Evaluate one pull request from the command line, with the App's own credentials."""

from __future__ import annotations

from github_app.config import Settings
from github_app.context import HandlerContext
from github_app.core import github_json
from github_app.handlers.pipeline import Evaluation, evaluate_pull_request
from github_app.services import Services


async def simulate_pull_request(settings: Settings, repo: str, number: int) -> Evaluation:
    """Fetch and evaluate ``repo#number`` without publishing a check run or ledger entry."""
    services = await Services.start(settings)
    try:
        assert services.github is not None
        installation = await services.github.as_app().getitem(f"/repos/{repo}/installation")
        gh = await services.github.for_installation(installation["id"])
        pr_json = await gh.getitem(f"/repos/{repo}/pulls/{number}")
        pr = github_json.pull_request(pr_json, pr_json["base"]["repo"])
        ctx = HandlerContext(services, gh, None, None, installation["id"])
        return await evaluate_pull_request(ctx, pr)
    finally:
        await services.close()
