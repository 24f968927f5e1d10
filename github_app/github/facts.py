"""Fetch what a decision needs from GitHub: commits, files, reviews, policy, reviewer facts.

Calls that do not depend on each other run concurrently; lists are paginated with ``getiter``.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from urllib.parse import quote

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from github_app.core import github_json
from github_app.core.models import Account, Commit, PullRequest, Review
from github_app.github.file_cache import FileView, is_commit_sha
from github_app.github.retry import is_rate_limit_error
from github_app.policy.evaluate import ReviewerFacts
from github_app.policy.loader import (
    ORG_POLICY_PATH,
    ORG_POLICY_REPO,
    REPO_POLICY_PATH,
    EffectivePolicy,
    PolicyError,
    effective_policy,
    unreadable_org_policy_choice,
)
from github_app.policy.model import Policy


@dataclass(frozen=True)
class PullRequestFacts:
    """A pull request's commits, changed files and submitted reviews."""

    commits: tuple[Commit, ...]
    files: tuple[str, ...]
    reviews: tuple[Review, ...]
    incomplete: str | None = None  # set when GitHub listed fewer commits or files than exist


LISTED_COMMITS_CAP = 250  # GitHub lists at most this many commits of a pull request
LISTED_FILES_CAP = 3000  # and at most this many changed files


def _shortfall(pr: PullRequest, commits: int, files: int) -> str | None:
    """Why the listings are short, if they are: GitHub stops at 250 commits and 3000 files.

    Without GitHub's counts a listing is known complete only while it is under those caps (a
    listing that reaches a cap may be cut short): there, unknown counts fail closed.
    """
    if pr.commit_count is None or pr.changed_file_count is None:
        if commits < LISTED_COMMITS_CAP and files < LISTED_FILES_CAP:
            return None
        return "GitHub did not say how many commits and files the pull request has."
    if commits < pr.commit_count:
        return f"GitHub listed {commits} of the pull request's {pr.commit_count} commits."
    if files < pr.changed_file_count:
        return f"GitHub listed {files} of the pull request's {pr.changed_file_count} files."
    return None


async def with_counts(gh: GitHubAPI, pr: PullRequest) -> PullRequest:
    """``pr`` with GitHub's own commit and file counts, read from the PR when the event lacked
    them (review events, the sweep's listing): the counts are what exposes a truncated listing.
    """
    if pr.commit_count is not None and pr.changed_file_count is not None:
        return pr
    full = await gh.getitem(f"/repos/{pr.repo_full_name}/pulls/{pr.number}")
    counts = {"commit_count": full.get("commits"), "changed_file_count": full.get("changed_files")}
    return pr.model_copy(update=counts)


async def _collect(gh: GitHubAPI, url: str) -> list[dict]:
    return [item async for item in gh.getiter(url)]


async def pull_request_facts(gh: GitHubAPI, pr: PullRequest) -> PullRequestFacts:
    """Commits, files (renames count under both names) and reviews of a PR."""
    base = f"/repos/{pr.repo_full_name}/pulls/{pr.number}"
    commits, files, reviews = await asyncio.gather(
        _collect(gh, f"{base}/commits"),
        _collect(gh, f"{base}/files"),
        _collect(gh, f"{base}/reviews"),
    )
    paths: list[str] = []
    for changed in files:
        paths.append(changed["filename"])
        if changed.get("previous_filename"):
            paths.append(changed["previous_filename"])
    return PullRequestFacts(
        commits=tuple(github_json.api_commit(c) for c in commits),
        files=tuple(dict.fromkeys(paths)),
        reviews=tuple(filter(None, (github_json.review(r) for r in reviews))),
        incomplete=_shortfall(pr, len(commits), len(files)),
    )


def _file_view(gh: GitHubAPI) -> FileView | None:
    return getattr(gh, "files", None)


async def read_text_file(gh: GitHubAPI, repo: str, path: str, ref: str | None) -> str | None:
    """A file's text from a repository, or ``None`` when it does not exist (404).

    Read at a commit SHA, the answer (a 404 too) is cached: a file at a commit never changes.
    """
    files = _file_view(gh) if is_commit_sha(ref) else None
    if files is not None:
        found, text = files.get(repo, path, ref)
        if found:
            return text
    text = await _fetch_text_file(gh, repo, path, ref)
    if files is not None:
        files.put(repo, path, ref, text)
    return text


async def _fetch_text_file(gh: GitHubAPI, repo: str, path: str, ref: str | None) -> str | None:
    url = f"/repos/{repo}/contents/{path}" + (f"?ref={quote(ref, safe='')}" if ref else "")
    try:
        content = await gh.getitem(url)
    except BadRequest as error:
        if error.status_code == 404:
            return None
        raise
    if isinstance(content, list) or content.get("type") != "file":
        raise PolicyError(f"{repo}:{path}", "is not a file")
    return base64.b64decode(content.get("content") or "").decode("utf-8")


async def read_org_policy_text(gh: GitHubAPI, owner: str) -> str | None:
    """The organisation policy from the ``.github`` repository's default branch, if any.

    Read at that branch's head SHA (a conditional request: free while it has not moved), so
    the file itself is read once per change of the ``.github`` repository.
    """
    repo = f"{owner}/{ORG_POLICY_REPO}"
    files = _file_view(gh)
    if files is None:
        return await _fetch_text_file(gh, repo, ORG_POLICY_PATH, None)
    if files.repo_known_absent(repo):
        return None
    try:
        head = await gh.getitem(f"/repos/{repo}/commits/HEAD")
    except BadRequest as error:
        if error.status_code in (404, 409):  # no such repository, or an empty one
            files.mark_repo_absent(repo)
            return None
        raise
    return await read_text_file(gh, repo, ORG_POLICY_PATH, head["sha"])


async def load_policy(
    gh: GitHubAPI, repo: str, ref: str | None, default: Policy
) -> tuple[EffectivePolicy | None, str | None]:
    """The effective policy of ``repo`` at ``ref`` (``None``: its default branch).

    Returns ``(policy, None)`` or ``(None, error)``.  Pull requests are judged by the policy of
    their *base* branch and pushes by the policy before the push, so a change can never loosen
    the rules it is judged by.  A file that cannot be read (4xx) or parsed fails closed with the
    reason; a GitHub outage (5xx) raises, so the delivery is retried instead.
    """
    owner = repo.split("/", 1)[0]
    org_source = f"{owner}/{ORG_POLICY_REPO}:{ORG_POLICY_PATH}"
    repo_source = f"{repo}:{REPO_POLICY_PATH}" + (f"@{ref}" if ref else "")
    org_repo = f"{owner}/{ORG_POLICY_REPO}"
    try:
        org_text, repo_text = await asyncio.gather(
            read_org_policy_text(gh, owner),
            read_text_file(gh, repo, REPO_POLICY_PATH, ref),
        )
        warnings: tuple[str, ...] = ()
        if org_text is None and repo != org_repo and not await _repository_readable(gh, org_repo):
            unreadable = f"the org policy repository {org_repo} is not accessible to the App"
            if unreadable_org_policy_choice(default, repo_text, repo_source) != "warn":
                return None, f"{unreadable}; install the App on it (or set org_policy.unreadable)"
            warnings = (f"{unreadable}: judged by the default and repository policy only",)
        effective = effective_policy(
            default, org_text, repo_text, org_source=org_source, repo_source=repo_source
        )
        return effective.model_copy(update={"warnings": warnings}), None
    except PolicyError as error:
        return None, str(error)
    except BadRequest as error:
        if is_rate_limit_error(error):
            raise  # transient: the worker retries the delivery after the reset
        return None, f"could not read the policy: {error}"
    except UnicodeDecodeError as error:
        return None, f"could not read the policy: {error}"


# Each lookup is one request; a PR listing hundreds of co-authors gets the rest shown unresolved.
MAX_CO_AUTHOR_LOOKUPS = 10


async def co_author_accounts(
    gh: GitHubAPI, repo: str, emails: tuple[str, ...]
) -> dict[str, Account]:
    """Lower e-mail -> the account GitHub links to commits by that e-mail in ``repo``.

    ``GET /repos/{o}/{r}/commits?author=<e-mail>`` filters by the commit's author e-mail, and
    GitHub names the linked account (``author.login``) on each commit it returns.  An e-mail
    with no linked commit stays unresolved; the policy decides what that means.
    """

    async def lookup(email: str) -> tuple[str, Account | None]:
        url = f"/repos/{repo}/commits?author={quote(email, safe='@')}&per_page=1"
        try:
            commits = await gh.getitem(url)
        except BadRequest as error:
            if error.status_code in {404, 409, 422}:  # no repository, empty, or not accepted
                return email, None
            raise
        first = commits[0] if isinstance(commits, list) and commits else {}
        return email, github_json.account(first.get("author"))

    found = await asyncio.gather(*(lookup(email) for email in emails[:MAX_CO_AUTHOR_LOOKUPS]))
    return {email: account for email, account in found if account is not None}


async def _repository_readable(gh: GitHubAPI, repo: str) -> bool:
    """True when the App can see ``repo``: a 404 on a file in it then means "no such file".

    GitHub answers 404 (or 403) for a repository the installation cannot access exactly as for
    one that does not exist, so neither may be taken for "the org has no policy".
    """
    try:
        await gh.getitem(f"/repos/{repo}")
    except BadRequest as error:
        if error.status_code in {403, 404}:
            return False
        raise
    return True


def referenced_teams(policy: Policy) -> frozenset[str]:
    """Every team (``org/slug``) the policy names as approvers, path approvers or owners."""
    specs = [policy.approvals, policy.emergency.approvers, policy.policy_owners]
    specs += [rule.approvals for rule in policy.paths if rule.approvals is not None]
    return frozenset(team for spec in specs for team in spec.teams)


def _role(permission_response: dict) -> str:
    role = (permission_response.get("role_name") or "").lower()
    if role in {"admin", "maintain", "write", "triage", "read"}:
        return role
    return (permission_response.get("permission") or "none").lower()


async def _permission(gh: GitHubAPI, repo: str, login: str) -> str:
    try:
        response = await gh.getitem(f"/repos/{repo}/collaborators/{login}/permission")
    except BadRequest as error:
        if error.status_code == 404:
            return "none"
        raise
    return _role(response)


async def _is_member(gh: GitHubAPI, team: str, login: str) -> bool:
    org, slug = team.split("/", 1)
    try:
        membership = await gh.getitem(f"/orgs/{org}/teams/{slug}/memberships/{login}")
    except BadRequest as error:
        if error.status_code == 404:
            return False
        raise
    return membership.get("state") == "active"


async def reviewer_facts(
    gh: GitHubAPI, pr: PullRequest, reviews: tuple[Review, ...], teams: frozenset[str]
) -> dict[str, ReviewerFacts]:
    """Permission and relevant team memberships of everyone whose review could count."""
    logins = sorted(
        {
            r.reviewer.login
            for r in reviews
            if r.state in {"APPROVED", "CHANGES_REQUESTED"} and not r.reviewer.is_bot
        }
    )

    async def facts_for(login: str) -> ReviewerFacts:
        permission, *memberships = await asyncio.gather(
            _permission(gh, pr.repo_full_name, login),
            *(_is_member(gh, team, login) for team in sorted(teams)),
        )
        member_of = frozenset(t for t, m in zip(sorted(teams), memberships, strict=True) if m)
        return ReviewerFacts(login=login, permission=permission, teams=member_of)

    results = await asyncio.gather(*(facts_for(login) for login in logins))
    return {facts.login.lower(): facts for facts in results}
