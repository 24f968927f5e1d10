"""Find a merged change by its merge commit and attest it (shared by the API and the CLI).

The shell around :mod:`github_app.evidence.attestation`: read the merged-change entries and
the flags that decide their status, pick the entry whose merge commit is the SHA asked for,
build the Statement and sign it as a DSSE envelope with the ledger key.  Synchronous.
"""

from __future__ import annotations

import re
from typing import Any

from github_app.api.queries import EntrySource
from github_app.evidence.attestation import (
    ATTESTED_KINDS,
    change_statement,
    is_merged_change,
    merge_sha_of,
    statement_payload,
)
from github_app.evidence.dsse import IN_TOTO_PAYLOAD_TYPE, sign_envelope
from github_app.evidence.population import (
    FLAG_KINDS,
    ChangeFlags,
    change_status,
    collect_flags,
)
from github_app.ledger.checkpoints import CheckpointSigner
from github_app.ledger.entry import LedgerEntry

SHA_PATTERN = re.compile(r"^[0-9a-fA-F]{40}$")


class UnknownChange(LookupError):
    """No merged change in the ledger has that merge commit."""


def parse_sha(value: str) -> str:
    """A full 40-hex commit SHA, lower case; ``ValueError`` with the reason otherwise."""
    if not SHA_PATTERN.fullmatch(value or ""):
        raise ValueError("sha: expected a full 40-character hexadecimal commit SHA")
    return value.lower()


def merged_change(ledger: EntrySource, sha: str) -> LedgerEntry:
    """The latest merged-change entry whose merge commit is ``sha``."""
    found: LedgerEntry | None = None
    for entry in ledger.entries(kinds=list(ATTESTED_KINDS)):
        if is_merged_change(entry) and merge_sha_of(entry) == sha:
            found = entry
    if found is None:
        raise UnknownChange(f"no merged change with merge commit {sha} in the ledger")
    return found


def attest_entry(
    ledger: EntrySource,
    entry: LedgerEntry,
    signer: CheckpointSigner,
    web_url: str,
    flags: ChangeFlags | None = None,
) -> dict[str, Any]:
    """The signed DSSE envelope for one merged-change entry.

    ``flags`` (the ledger's unapproved/emergency flags) are read when not given; pass them when
    attesting many changes at once.
    """
    if flags is None:
        flags = collect_flags(ledger.entries(kinds=list(FLAG_KINDS), repo=entry.repo))
    status = entry.data.get("status") if entry.kind == "backfill" else None
    statement = change_statement(entry, status or change_status(entry, flags), web_url=web_url)
    return sign_envelope(statement_payload(statement), IN_TOTO_PAYLOAD_TYPE, signer)


def attestation(
    ledger: EntrySource, sha: str, signer: CheckpointSigner, web_url: str
) -> dict[str, Any]:
    """The signed attestation of the change merged as ``sha`` (raises ``UnknownChange``)."""
    return attest_entry(ledger, merged_change(ledger, parse_sha(sha)), signer, web_url)
