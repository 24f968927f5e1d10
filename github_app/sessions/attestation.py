"""Sessions meet pull requests: the attested launcher and ``session.require_attested`` (pure).

A session started through an agent token (a ``session_started`` ledger entry) has an *attested*
launcher: the token's login.  For a pull request whose session id (any of them) has one:

* ``launched_by`` becomes the attested login and ``launcher_attested`` is true;
* that login cannot countersign, and neither can anyone a trailer or vendor marker named as the
  launcher (trailers only ever make a change more restricted);
* a trailer naming someone else is a conflict: shown in the check run and recorded.

Without one, ``session.require_attested: true`` blocks agent changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import Field

from github_app.core.models import Attribution, Frozen
from github_app.policy.evaluate import is_agent_change
from github_app.policy.model import Policy

ATTESTED_REASON = "launched the agent session (attested by an agent token)"
NAMED_REASON = "is named as the session's launcher"


class AttestedSession(Frozen):
    """What a ``session_started`` entry attests."""

    session_id: str
    launched_by: str
    agent: str | None = None
    token_name: str | None = None


class AttestationOutcome(Frozen):
    """The attribution to evaluate with, who else cannot countersign, and what blocks."""

    attribution: Attribution
    exclusions: dict[str, str] = Field(default_factory=dict)  # lower login -> why
    blocking: str | None = None


def session_ids(attribution: Attribution) -> tuple[str, ...]:
    """Every session id detection found for the change (its main one first)."""
    ids = [attribution.session_id] if attribution.session_id else []
    ids += [sid for sid in getattr(attribution, "session_ids", ()) or () if sid not in ids]
    if attribution.session_derived and ids and ids[0] == attribution.session_id:
        ids = ids[1:]  # a derived id (pr:<repo-id>:<n>) was never started by any agent
    return tuple(ids)


def _named_launchers(attribution: Attribution) -> list[str]:
    """Logins trailers or vendor markers named as the launcher, in order, without repeats."""
    named = [attribution.launched_by] if attribution.launched_by else []
    named += list(getattr(attribution, "launcher_candidates", ()) or ())
    seen: dict[str, str] = {}
    for login in named:
        cleaned = str(login).strip().lstrip("@")
        if cleaned:
            seen.setdefault(cleaned.lower(), cleaned)
    return list(seen.values())


def apply_attestation(
    attribution: Attribution, attested: Mapping[str, AttestedSession], policy: Policy
) -> AttestationOutcome:
    """Adjust ``attribution`` with the attested sessions found for its session ids."""
    found = _first_attested(session_ids(attribution), attested)
    named = _named_launchers(attribution)
    if found is None:
        return AttestationOutcome(
            attribution=attribution, blocking=_unattested(attribution, policy)
        )
    login = found.launched_by
    conflicts = tuple(
        f"Agent-Launched-By names @{other}, but session {found.session_id} was started with "
        f"@{login}'s agent token"
        for other in named
        if other.lower() != login.lower()
    )
    exclusions = {login.lower(): ATTESTED_REASON}
    for other in named:
        exclusions.setdefault(other.lower(), NAMED_REASON)
    adjusted = attribution.model_copy(
        update={
            "launched_by": login,
            "launcher_attested": True,
            "launcher_conflicts": conflicts,
        }
    )
    return AttestationOutcome(attribution=adjusted, exclusions=exclusions)


def _first_attested(
    ids: Iterable[str], attested: Mapping[str, AttestedSession]
) -> AttestedSession | None:
    return next((attested[sid] for sid in ids if sid in attested), None)


def _unattested(attribution: Attribution, policy: Policy) -> str | None:
    if not policy.session.require_attested or not is_agent_change(attribution, policy):
        return None
    ids = session_ids(attribution)
    which = f"session {ids[0]}" if ids else "this change's session"
    return (
        f"{which} was never started through an agent token, so its launcher is not attested, "
        "and the policy requires attested sessions"
    )
