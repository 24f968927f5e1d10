"""Assemble an audit pack from the ledger (shared by the API and the CLI).

The shell around :mod:`github_app.evidence.pack`: read the period's population, sample and
exceptions through the same queries the API serves, find the signed checkpoints around the
period's entries (signing one at the head when none covers them yet), read those entries and
the stored Merkle frontier at the earlier checkpoint, sign one attestation per merged change,
and let the pure core lay out, digest and sign the zip.  Synchronous.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from github_app.api import queries
from github_app.api.attestations import attest_entry
from github_app.evidence.attestation import is_merged_change, merge_sha_of
from github_app.evidence.audit_exceptions import DEFAULT_POST_REVIEW_HOURS
from github_app.evidence.dsse import sign_envelope
from github_app.evidence.pack import (
    MANIFEST_PAYLOAD_TYPE,
    PackContents,
    manifest_document,
    pack_files,
    zip_pack,
)
from github_app.evidence.params import Filters, Position
from github_app.evidence.population import FLAG_KINDS, collect_flags
from github_app.evidence.sample import draw_sample
from github_app.evidence.segment import Segment
from github_app.ledger.checkpoints import Checkpoint
from github_app.ledger.entry import LedgerEntry, canonical_json
from github_app.policy.loader import policy_sha
from github_app.policy.model import Policy
from github_app.store.ledger import Ledger, LedgerError

PAGE = 1000


class PackUnavailable(LedgerError):
    """The pack cannot be built (no signing key, or no checkpoint covers the period)."""


def _all_exceptions(ledger: Ledger, filters: Filters, hours: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after: Position | None = None
    while True:
        page = queries.exceptions_page(
            ledger, filters, after=after, limit=PAGE, default_hours=hours
        )
        items += page.items
        if page.next_cursor is None:
            return items
        from github_app.evidence.params import decode_cursor

        after = decode_cursor(page.next_cursor)


def _segment(ledger: Ledger, seqs: list[int]) -> tuple[Segment | None, list[LedgerEntry]]:
    """The checkpoints around ``seqs`` and every entry between them."""
    if not seqs:
        return None, []
    first, last = min(seqs), max(seqs)
    checkpoints = ledger.checkpoints()
    end = next((c for c in checkpoints if c.size >= last), None)
    if end is None:
        if ledger.signer is None:
            raise PackUnavailable(f"entry {last} is not covered by a signed checkpoint yet")
        end = ledger.checkpoint()
        assert end is not None
    start: Checkpoint | None = None
    for checkpoint in checkpoints:
        if checkpoint.size < first:
            start = checkpoint
    start_size = start.size if start else 0
    frontier = ledger.frontier_at(start_size)
    entries = list(ledger.entries(after_seq=start_size, limit=end.size - start_size))
    return Segment(start, frontier, end), entries


def _policies(entries: Iterable[LedgerEntry], known: Iterable[Policy]) -> dict[str, str | None]:
    """Every policy_sha of the period, with the canonical policy text when it is known."""
    texts = {
        policy_sha(policy): canonical_json(policy.model_dump(mode="json")) + "\n"
        for policy in known
    }
    shas = {entry.policy_sha for entry in entries if entry.policy_sha}
    return {sha: texts.get(sha) for sha in sorted(shas)}


def build_pack(
    ledger: Ledger,
    *,
    since: datetime,
    until: datetime,
    n: int,
    seed: str,
    web_url: str,
    known_policies: Iterable[Policy] = (),
    post_review_hours: int = DEFAULT_POST_REVIEW_HOURS,
    now: datetime | None = None,
) -> bytes:
    """The signed audit pack (zip bytes) for ``[since, until)``."""
    signer = ledger.signer
    if signer is None:
        raise PackUnavailable("no ledger signing key: the pack cannot be signed")
    filters = Filters(since=since, until=until)
    population = queries.population(ledger, filters)
    period = list(ledger.entries(since=since, until=until))
    segment, entries = _segment(ledger, [entry.seq for entry in period])
    flags = collect_flags(ledger.entries(kinds=list(FLAG_KINDS)))
    attestations = {
        merge_sha_of(entry): attest_entry(ledger, entry, signer, web_url, flags)
        for entry in period
        if is_merged_change(entry) and merge_sha_of(entry)
    }
    contents = PackContents(
        since=since,
        until=until,
        generated_at=now or datetime.now(UTC),
        population=population,
        sample=draw_sample(population, n, seed) if population else _empty_sample(n, seed),
        exceptions=_all_exceptions(ledger, filters, post_review_hours),
        entries=entries,
        segment=segment,
        public_key_pem=signer.public_key_pem(),
        policies=_policies(period, known_policies),
        attestations=attestations,  # type: ignore[arg-type]
        filters={"since": since.isoformat(), "until": until.isoformat()},
    )
    files = pack_files(contents)
    manifest = json.dumps(manifest_document(contents, files), indent=2, sort_keys=True).encode()
    signature = json.dumps(sign_envelope(manifest, MANIFEST_PAYLOAD_TYPE, signer), indent=2)
    return zip_pack(files, manifest, signature.encode())


def _empty_sample(n: int, seed: str):
    from github_app.evidence.sample import Sample

    return Sample(seed=seed, requested=n, population_size=0, rows=())
