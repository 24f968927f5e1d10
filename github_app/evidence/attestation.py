"""Per-change attestations: an in-toto Statement v1 about a merge commit (pure).

For every merged change the ledger holds (a ``merge`` entry, or a ``backfill`` entry of a merged
PR), :func:`change_statement` builds a Statement whose subject is the merge commit
(``digest.gitCommit``) and whose predicate is a SLSA Verification Summary (VSA v1) of what
Countersign verified: the countersignature — who approved, which exact head SHA, under which
policy (``policy_sha``), recorded at which ledger ``seq`` with which entry hash.

Levels, honestly.  SLSA v1.2's source track defines levels 1-4 (L4 = two-party review), but its
source VSA section lists only ``SLSA_SOURCE_LEVEL_0``-``_3`` as values of ``verifiedLevels``.
Countersign verifies review, not the repository's history protection, so it claims
``SLSA_SOURCE_LEVEL_1`` (the revision is in a version-controlled GitHub repository) and
records review as ``ORG_SOURCE_`` properties, which the VSA allows:

* ``ORG_SOURCE_COUNTERSIGNED`` — at least one human, not an author, co-author or the launching
  developer, approved the exact head that was merged (Countersign's control passed);
* ``ORG_SOURCE_TWO_PARTY_REVIEW`` — two distinct trusted persons agreed to the final revision,
  as L4 asks.  An agent is not a trusted person, so an agent change needs two counted human
  approvers; a human author plus one counted approver also qualifies.

The levels L2 (continuity, retained history) and L3 (enforced controls on named refs) depend on
GitHub's branch rules; ``predicate.countersign.sourceTrack`` lists them as not verified here.
"""

from __future__ import annotations

import json
from typing import Any

from github_app.evidence.dsse import IN_TOTO_PAYLOAD_TYPE
from github_app.evidence.population import ChangeStatus
from github_app.ledger.entry import LedgerEntry, rfc3339

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
VSA_PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
VERIFIER_ID = "https://github.com/apps/countersign"
POLICY_URI_PREFIX = "urn:countersign:policy:sha256:"
SLSA_VERSION = "1.2"
ATTESTED_KINDS = ("merge", "backfill")
SOURCE_LEVEL_CLAIMED = "SLSA_SOURCE_LEVEL_1"
COUNTERSIGNED = "ORG_SOURCE_COUNTERSIGNED"
TWO_PARTY_REVIEW = "ORG_SOURCE_TWO_PARTY_REVIEW"
NOT_VERIFIED = (
    "L2: continuous, immutable, retained history (GitHub branch rules; not verified here)",
    "L3: the organisation's controls enforced on named refs (not verified per revision)",
)
LEVEL_NOTE = (
    "SLSA v1.2's source track defines levels up to 4 (two-party review), but its VSA lists "
    "only SLSA_SOURCE_LEVEL_0..3; two-party review is therefore recorded as the property "
    "ORG_SOURCE_TWO_PARTY_REVIEW, and only the level Countersign verifies (1) is claimed."
)


class NotAttestable(ValueError):
    """The entry is not a merged change (or lacks its merge commit)."""


def web_root(api_url: str) -> str:
    """GitHub's web root for an API root: github.com, or the Enterprise Server host."""
    base = api_url.rstrip("/")
    if base in ("https://api.github.com", "http://api.github.com"):
        return "https://github.com"
    return base.removesuffix("/api/v3")


def is_merged_change(entry: LedgerEntry) -> bool:
    """True for the entries attestations are made for: merges (recorded or backfilled)."""
    if entry.kind == "merge":
        return True
    return entry.kind == "backfill" and entry.data.get("change") == "merge"


def merge_sha_of(entry: LedgerEntry) -> str | None:
    """The merge commit of a merged-change entry, lower case."""
    value = entry.data.get("merge_sha")
    return str(value).lower() if isinstance(value, str) and value else None


def two_party_review(entry: LedgerEntry) -> bool:
    """Whether two distinct trusted persons agreed to the final revision (see module doc)."""
    approvers = {str(login).lower() for login in entry.data.get("approvers") or ()}
    if entry.agent is not None:
        return len(approvers) >= 2
    author = str(entry.data.get("author") or "").lower()
    return len(approvers - {author}) >= 1


def verified_properties(entry: LedgerEntry, status: ChangeStatus) -> list[str]:
    """``verifiedLevels`` for this change: the level claimed plus the review properties."""
    levels = [SOURCE_LEVEL_CLAIMED]
    if status == "approved" and entry.data.get("approved_sha"):
        levels.append(COUNTERSIGNED)
        if two_party_review(entry):
            levels.append(TWO_PARTY_REVIEW)
    return levels


def change_statement(
    entry: LedgerEntry, status: ChangeStatus, *, web_url: str = "https://github.com"
) -> dict[str, Any]:
    """The in-toto Statement (VSA predicate) for one merged-change entry."""
    if not is_merged_change(entry):
        raise NotAttestable(f"entry {entry.seq} ({entry.kind}) is not a merged change")
    merge_sha = merge_sha_of(entry)
    if merge_sha is None or entry.repo is None:
        raise NotAttestable(f"entry {entry.seq} records no merge commit")
    data = entry.data
    repo_url = f"{web_url.rstrip('/')}/{entry.repo}"
    ref = f"refs/heads/{data.get('base_ref') or 'unknown'}"
    levels = verified_properties(entry, status)
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {
                "name": f"git+{repo_url}@{ref}",
                "uri": f"{repo_url}/commit/{merge_sha}",
                "digest": {"gitCommit": merge_sha},
                "annotations": {"sourceRefs": [ref]},
            }
        ],
        "predicateType": VSA_PREDICATE_TYPE,
        "predicate": {
            "verifier": {"id": VERIFIER_ID},
            "timeVerified": rfc3339(entry.recorded_at),
            "resourceUri": f"git+{repo_url}",
            "policy": _policy(entry.policy_sha),
            "verificationResult": "PASSED" if COUNTERSIGNED in levels else "FAILED",
            "verifiedLevels": levels,
            "slsaVersion": SLSA_VERSION,
            "countersign": _countersignature(entry, status),
        },
    }


def statement_payload(statement: dict[str, Any]) -> bytes:
    """The exact bytes that are signed: canonical JSON (sorted keys, no spaces), UTF-8."""
    return json.dumps(statement, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _policy(policy_sha: str | None) -> dict[str, Any]:
    if policy_sha is None:
        return {"uri": f"{POLICY_URI_PREFIX}unknown"}
    return {"uri": f"{POLICY_URI_PREFIX}{policy_sha}", "digest": {"sha256": policy_sha}}


def _countersignature(entry: LedgerEntry, status: ChangeStatus) -> dict[str, Any]:
    """What the countersignature was, and where the ledger records it."""
    data = entry.data
    return {
        "status": status,
        "repo": entry.repo,
        "pr": entry.pr,
        "title": data.get("title"),
        "agent": entry.agent,
        "sessionId": entry.session_id,
        "launchedBy": entry.launched_by,
        "approvers": list(data.get("approvers") or ()),
        "approvedSha": data.get("approved_sha"),
        "headSha": entry.head_sha,
        "mergedBy": data.get("merged_by"),
        "mergedAt": rfc3339(entry.occurred_at),
        "policySha": entry.policy_sha,
        "backfilled": entry.kind == "backfill",
        "ledger": {"seq": entry.seq, "entryId": entry.id, "entryHash": entry.hash},
        "sourceTrack": {
            "twoPartyReview": two_party_review(entry)
            and COUNTERSIGNED in verified_properties(entry, status),
            "notVerified": list(NOT_VERIFIED),
            "note": LEVEL_NOTE,
        },
    }


__all__ = [
    "ATTESTED_KINDS",
    "IN_TOTO_PAYLOAD_TYPE",
    "NotAttestable",
    "change_statement",
    "is_merged_change",
    "merge_sha_of",
    "statement_payload",
    "web_root",
]
