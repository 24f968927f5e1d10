"""Read the base branch's CODEOWNERS file for a decision that needs code-owner approval.

The first of ``.github/CODEOWNERS``, ``CODEOWNERS`` and ``docs/CODEOWNERS`` that exists on the
ref wins, as on GitHub.  A PR that edits CODEOWNERS is judged by the base branch's copy, never
its own.  A file GitHub would ignore (3 MB or more) gives no owners, with a note; a file that
cannot be read or decoded fails closed with the error.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from github_app.github.retry import is_rate_limit_error
from github_app.policy.codeowners import LOCATIONS, MAX_BYTES, CodeOwnersFacts, parse


async def _contents(gh: GitHubAPI, repo: str, path: str, ref: str) -> dict | None:
    try:
        return await gh.getitem(f"/repos/{repo}/contents/{path}?ref={quote(ref, safe='')}")
    except BadRequest as error:
        if error.status_code == 404:
            return None
        raise


async def read_codeowners(gh: GitHubAPI, repo: str, ref: str) -> CodeOwnersFacts:
    """The parsed CODEOWNERS of ``repo`` at ``ref``, or why there is none."""
    for path in LOCATIONS:
        try:
            content = await _contents(gh, repo, path, ref)
        except BadRequest as error:
            if is_rate_limit_error(error):
                raise
            return CodeOwnersFacts(ref=ref, error=f"{path}: {error}")
        if content is None:
            continue
        if isinstance(content, list) or content.get("type") != "file":
            return CodeOwnersFacts(ref=ref, error=f"{path} is not a file")
        if int(content.get("size") or 0) >= MAX_BYTES:
            return CodeOwnersFacts(ref=ref, note=f"{path} is 3 MB or more, which GitHub ignores")
        try:
            text = base64.b64decode(content.get("content") or "").decode("utf-8")
        except (ValueError, UnicodeDecodeError) as error:
            return CodeOwnersFacts(ref=ref, error=f"{path} is not UTF-8 text: {error}")
        return CodeOwnersFacts(ref=ref, file=parse(text, path))
    return CodeOwnersFacts(ref=ref)
