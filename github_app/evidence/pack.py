"""The audit pack: one zip an auditor can check offline, and its verification (pure).

Layout (every path is listed in ``manifest.json`` with its SHA-256)::

    README.txt              how to read and verify the pack
    summary.html            a self-contained human-readable summary (no external resources)
    population.csv          one row per change (the auditor's population; formulas neutralised)
    population.json         the same rows as the API serves them
    sample.json             a reproducible sample: its seed, size and rows
    exceptions.json         violations, bypasses, unapproved and emergency changes, overdue reviews
    ledger/entries.jsonl    the period's ledger entries (and those between them), in seq order
    ledger/segment.json     the checkpoints around those entries and the start Merkle frontier
    public-key.pem          the ledger's Ed25519 public key (check it against a copy you trust)
    policies/index.json     every policy_sha in force during the period, with its availability
    policies/<sha>.json     the effective policy (canonical JSON) for each sha Countersign knows
    attestations/<sha>.json a signed DSSE attestation per merged change of the period
    manifest.json           format, period, key id and the digest of every other file
    manifest.sig            a DSSE envelope over manifest.json, signed with the ledger key

:func:`verify_pack` checks the manifest's signature with a key the auditor trusts, every
digest, that no file was added or removed, the ledger segment against its signed checkpoints
(:mod:`github_app.evidence.segment`), that every population row is an entry of that segment,
and every attestation's signature.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from github_app.evidence.dsse import verify_envelope
from github_app.evidence.encode import entry_record
from github_app.evidence.population import ChangeRow, population_csv
from github_app.evidence.sample import Sample
from github_app.evidence.segment import Segment, verify_segment
from github_app.ledger.checkpoints import load_public_key_pem, public_key_to_pem
from github_app.ledger.entry import LedgerEntry, canonical_json, rfc3339

PACK_FORMAT = "countersign-audit-pack/v1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
MANIFEST_PAYLOAD_TYPE = "application/vnd.countersign.audit-pack-manifest+json"
ENTRIES = "ledger/entries.jsonl"
SEGMENT = "ledger/segment.json"
PUBLIC_KEY = "public-key.pem"
MAX_MEMBER_BYTES = 512 * 1024 * 1024  # refuse zip bombs
ZIP_TIME = (2000, 1, 1, 0, 0, 0)  # fixed member times: the same pack gives the same bytes


@dataclass(frozen=True)
class PackContents:
    """What goes into a pack, gathered by the shell (API or CLI)."""

    since: datetime
    until: datetime
    generated_at: datetime
    population: Sequence[ChangeRow]
    sample: Sample
    exceptions: Sequence[Mapping[str, Any]]
    entries: Sequence[LedgerEntry]  # the segment's entries, in seq order
    segment: Segment | None  # None when the period holds no entry
    public_key_pem: str
    policies: Mapping[str, str | None]  # policy_sha -> canonical policy JSON (None: unknown)
    attestations: Mapping[str, Mapping[str, Any]]  # merge SHA -> signed DSSE envelope
    filters: Mapping[str, Any] = field(default_factory=dict)


def population_records(contents: PackContents) -> list[dict[str, Any]]:
    """Population rows in the contract's CSV columns, completed from their ledger entries."""
    by_seq = {entry.seq: entry for entry in contents.entries}
    exception_of: dict[int, str] = {}
    for item in contents.exceptions:
        exception_of.setdefault(int(item["seq"]), str(item["type"]))
    return [
        _population_record(row, by_seq.get(row.seq), exception_of) for row in contents.population
    ]


def _population_record(
    row: ChangeRow, entry: LedgerEntry | None, exception_of: Mapping[int, str]
) -> dict[str, Any]:
    data = entry.data if entry is not None else {}
    return {
        "change_id": data.get("change_id") or row.entry_id,
        "repo": row.repo,
        "pr": row.pr,
        "title": data.get("title"),
        "agent": row.agent,
        "session_id": row.session_id,
        "launched_by": row.launched_by,
        "author": data.get("author"),
        "approvers": " ".join(row.approvers),
        "approved_sha": row.approved_sha,
        "merge_sha": row.merge_sha,
        "merged_at": row.occurred_at,
        "merged_by": row.merged_by,
        "policy_sha": entry.policy_sha if entry is not None else None,
        "status": row.status,
        "exception": exception_of.get(row.seq),
        "backfilled": row.backfilled,
        "seq": row.seq,
    }


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()


def pack_files(contents: PackContents) -> dict[str, bytes]:
    """Every file of the pack except the manifest and its signature."""
    records = population_records(contents)
    files = {
        "README.txt": readme_text(contents).encode(),
        "summary.html": summary_html(contents, records).encode(),
        "population.csv": population_csv(contents.population).encode(),
        "population.json": _json_bytes([row.as_dict() for row in contents.population]),
        "sample.json": _json_bytes(_sample_document(contents)),
        "exceptions.json": _json_bytes(list(contents.exceptions)),
        ENTRIES: "".join(
            canonical_json(entry_record(entry)) + "\n" for entry in contents.entries
        ).encode(),
        PUBLIC_KEY: contents.public_key_pem.encode(),
        "policies/index.json": _json_bytes(
            [
                {"policy_sha": sha, "included": text is not None}
                for sha, text in sorted(contents.policies.items())
            ]
        ),
    }
    if contents.segment is not None:
        files[SEGMENT] = _json_bytes(contents.segment.as_dict())
    for sha, text in sorted(contents.policies.items()):
        if text is not None:
            files[f"policies/{sha}.json"] = text.encode()
    for sha, envelope in sorted(contents.attestations.items()):
        files[f"attestations/{sha}.json"] = _json_bytes(dict(envelope))
    return files


def _sample_document(contents: PackContents) -> dict[str, Any]:
    drawn = contents.sample
    return {
        "seed": drawn.seed,
        "n": drawn.requested,
        "population_size": drawn.population_size,
        "filters": dict(contents.filters),
        "how_to_redraw": "countersign evidence sample --since SINCE --until UNTIL "
        f"--n {drawn.requested} --seed {drawn.seed}",
        "items": [row.as_dict() for row in drawn.rows],
    }


def manifest_document(contents: PackContents, files: Mapping[str, bytes]) -> dict[str, Any]:
    """The manifest: what the pack is about and the SHA-256 of every file."""
    seqs = [entry.seq for entry in contents.entries]
    segment = contents.segment
    return {
        "format": PACK_FORMAT,
        "generated_at": rfc3339(contents.generated_at),
        "period": {"since": rfc3339(contents.since), "until": rfc3339(contents.until)},
        "filters": dict(contents.filters),
        "key_id": segment.end.key_id if segment else None,
        "sample": {"seed": contents.sample.seed, "n": contents.sample.requested},
        "ledger": {
            "first_seq": seqs[0] if seqs else None,
            "last_seq": seqs[-1] if seqs else None,
            "checkpoint_size": segment.end.size if segment else None,
        },
        "files": {name: hashlib.sha256(body).hexdigest() for name, body in sorted(files.items())},
    }


def zip_pack(files: Mapping[str, bytes], manifest: bytes, signature: bytes) -> bytes:
    """The zip archive, members in a fixed order with fixed times."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        members = {**dict(sorted(files.items())), MANIFEST: manifest, SIGNATURE: signature}
        for name, body in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, body)
    return buffer.getvalue()


# --- the human-readable parts ---------------------------------------------------------------


def readme_text(contents: PackContents) -> str:
    """README.txt: what each file is and how to verify the pack offline."""
    since, until = rfc3339(contents.since), rfc3339(contents.until)
    return f"""Countersign audit pack
======================

Period: {since} (inclusive) to {until} (exclusive), generated {rfc3339(contents.generated_at)}.
Changes in the population: {len(contents.population)}; exceptions: {len(contents.exceptions)};
sample: {len(contents.sample.rows)} change(s) drawn with seed {contents.sample.seed!r}.

Files
-----
summary.html          Open in a browser: counts, exceptions, the sample (no network needed).
population.csv        One row per change that reached a protected branch in the period.
population.json       The same population as the Countersign API serves it.
sample.json           The sample, its seed and the command that draws it again.
exceptions.json       Violations, bypasses, unapproved/emergency merges, overdue post-reviews.
ledger/entries.jsonl  The ledger entries of the period (and any between them), one per line.
ledger/segment.json   The signed checkpoints before and after those entries.
public-key.pem        The ledger's signing key. Do not trust this copy alone: compare it with
                      the key published by the organisation (or its witness repository).
policies/             The effective policies in force, by policy_sha (index.json lists all).
attestations/         One signed in-toto attestation (DSSE) per merged change.
manifest.json         The SHA-256 of every file; manifest.sig is its signature.

Verify
------
    countersign evidence verify --pack THIS.zip --public-key TRUSTED-KEY.pem

checks, without any network access or database: the manifest's signature; every file's
digest (and that none was added or removed); every ledger entry's hash and link to the one
before; that the entries lead from one signed checkpoint to the next (RFC 9162 Merkle root);
that each population row is one of those entries; and each attestation's signature.
Any altered byte makes it fail with a line naming what does not match.
"""


def _count_by_status(rows: Sequence[ChangeRow]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return "<p>None.</p>"
    head = "".join(f"<th scope='col'>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row)
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def summary_html(contents: PackContents, records: Sequence[Mapping[str, Any]]) -> str:
    """summary.html: one self-contained page (inline style, no scripts, no external links)."""
    counts = _count_by_status(contents.population)
    status_rows = [[status, count] for status, count in sorted(counts.items())]
    exception_rows = [
        [
            i.get("seq"),
            i.get("type"),
            i.get("occurred_at"),
            i.get("repo"),
            i.get("pr"),
            i.get("actor"),
        ]
        for i in contents.exceptions
    ]
    sample_rows = [
        [
            r.seq,
            r.repo,
            r.pr,
            r.status,
            r.agent,
            r.session_id,
            ", ".join(r.approvers),
            (r.merge_sha or "")[:12],
        ]
        for r in contents.sample.rows
    ]
    segment = contents.segment
    ledger_line = (
        f"Entries {segment.start_size + 1}–{segment.end.size}, signed checkpoint of size "
        f"{segment.end.size} by key {segment.end.key_id}."
        if segment
        else "No ledger entry in this period."
    )
    title = (
        f"Countersign audit pack {rfc3339(contents.since)[:10]} – {rfc3339(contents.until)[:10]}"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;color:#111;
line-height:1.4}}table{{border-collapse:collapse;margin:.5rem 0 1.5rem}}th,td{{border:1px solid
#666;padding:.25rem .5rem;text-align:left}}th{{background:#e8e8e8}}code{{background:#f2f2f2}}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Generated {html.escape(rfc3339(contents.generated_at))}. {len(records)} change(s) reached a
protected branch in the period; {len(contents.exceptions)} exception(s).</p>
<h2>Changes by status</h2>{_html_table(["status", "changes"], status_rows)}
<h2>Exceptions</h2>{
        _html_table(["seq", "type", "occurred at", "repo", "PR", "actor"], exception_rows)
    }
<h2>Sample (seed <code>{html.escape(contents.sample.seed)}</code>)</h2>
{
        _html_table(
            ["seq", "repo", "PR", "status", "agent", "session", "approvers", "merge"], sample_rows
        )
    }
<h2>Ledger</h2><p>{html.escape(ledger_line)}</p>
<p>Verify offline: <code>countersign evidence verify --pack PACK.zip --public-key KEY.pem</code>
</p></body></html>
"""


# --- verification ---------------------------------------------------------------------------


@dataclass
class PackCheck:
    """The outcome of :func:`verify_pack`: each passed check, or the first problem."""

    ok: bool = True
    passed: list[str] = field(default_factory=list)
    problem: str | None = None
    first_broken_seq: int | None = None

    def fail(self, problem: str, seq: int | None = None) -> PackCheck:
        """Record the problem and return self (verification stops there)."""
        self.ok, self.problem, self.first_broken_seq = False, problem, seq
        return self


def verify_pack(pack: bytes, public_key_pem: str) -> PackCheck:
    """Verify an audit pack offline with a trusted public key (see the module docstring)."""
    check = PackCheck()
    try:
        load_public_key_pem(public_key_pem)
    except ValueError as error:
        return check.fail(f"unusable public key: {error}")
    members = _read_members(pack)
    if isinstance(members, str):
        return check.fail(members)
    manifest = _verified_manifest(members, public_key_pem, check)
    if manifest is None:
        return check
    if not _digests_match(members, manifest, check):
        return check
    if not _ledger_matches(members, public_key_pem, check):
        return check
    _attestations_verify(members, public_key_pem, check)
    return check


def _read_members(pack: bytes) -> dict[str, bytes] | str:
    """Every member of the zip, or why it cannot be read."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(pack))
    except zipfile.BadZipFile:
        return "not a zip file"
    members: dict[str, bytes] = {}
    with archive:
        for info in archive.infolist():
            if info.file_size > MAX_MEMBER_BYTES:
                return f"{info.filename}: larger than {MAX_MEMBER_BYTES} bytes"
            if info.filename in members:
                return f"{info.filename}: appears twice in the zip"
            try:
                members[info.filename] = archive.read(info)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error) as error:
                return f"{info.filename}: unreadable, the zip is damaged ({error})"
    return members


def _verified_manifest(
    members: Mapping[str, bytes], public_key_pem: str, check: PackCheck
) -> dict[str, Any] | None:
    """The manifest, once its signature checks out against the trusted key."""
    for name in (MANIFEST, SIGNATURE):
        if name not in members:
            check.fail(f"{name} is missing")
            return None
    signed = verify_envelope(members[SIGNATURE], public_key_pem, MANIFEST_PAYLOAD_TYPE)
    if not signed.ok:
        check.fail(f"manifest signature: {signed.reason}")
        return None
    if signed.payload != members[MANIFEST]:
        check.fail("manifest.json is not the manifest that manifest.sig signs (altered)")
        return None
    manifest = json.loads(members[MANIFEST])
    if manifest.get("format") != PACK_FORMAT or not isinstance(manifest.get("files"), dict):
        check.fail(f"manifest.json is not a {PACK_FORMAT} manifest")
        return None
    check.passed.append(f"manifest signed by the trusted key ({signed.reason})")
    return manifest


def _digests_match(
    members: Mapping[str, bytes], manifest: Mapping[str, Any], check: PackCheck
) -> bool:
    listed: dict[str, str] = manifest["files"]
    for name in sorted(set(members) - {MANIFEST, SIGNATURE}):
        if name not in listed:
            check.fail(f"{name}: not listed in the manifest (added)")
            return False
        if hashlib.sha256(members[name]).hexdigest() != listed[name]:
            check.fail(f"{name}: SHA-256 differs from the manifest (altered)")
            return False
    missing = sorted(set(listed) - set(members))
    if missing:
        check.fail(f"{missing[0]}: listed in the manifest but missing from the pack")
        return False
    check.passed.append(f"{len(listed)} file digests match the manifest")
    return True


def _ledger_matches(members: Mapping[str, bytes], public_key_pem: str, check: PackCheck) -> bool:
    """The entries against the signed checkpoints, and the population against the entries."""
    packed_key = members.get(PUBLIC_KEY, b"").decode(errors="replace")
    if _pem_normal(packed_key) != _pem_normal(public_key_pem):
        check.fail("public-key.pem in the pack is not the trusted key")
        return False
    try:
        records = [json.loads(line) for line in members.get(ENTRIES, b"").splitlines() if line]
    except ValueError:
        check.fail(f"{ENTRIES}: a line is not JSON")
        return False
    if SEGMENT not in members:
        if records:
            check.fail(f"{SEGMENT} is missing: the entries cannot be checked")
            return False
        check.passed.append("the period holds no ledger entry")
        return _population_in_segment(members, {}, check)
    try:
        segment = Segment.from_dict(json.loads(members[SEGMENT]))
    except ValueError as error:
        check.fail(f"{SEGMENT}: {error}")
        return False
    outcome = verify_segment(segment, records, public_key_pem)
    if not outcome.ok:
        check.fail(f"ledger: {outcome.reason}", outcome.first_broken_seq)
        return False
    check.passed.append(f"ledger: {outcome.reason}")
    return _population_in_segment(members, {r["seq"]: r for r in records}, check)


def _pem_normal(pem: str) -> str:
    try:
        return public_key_to_pem(load_public_key_pem(pem))
    except ValueError:
        return ""


def _population_in_segment(
    members: Mapping[str, bytes], by_seq: Mapping[int, Mapping[str, Any]], check: PackCheck
) -> bool:
    try:
        rows = json.loads(members.get("population.json", b"[]"))
    except ValueError:
        check.fail("population.json is not JSON")
        return False
    for row in rows:
        entry = by_seq.get(row.get("seq"))
        if entry is None or entry.get("id") != row.get("entry_id"):
            check.fail(f"population row seq {row.get('seq')} is not an entry of the ledger segment")
            return False
    check.passed.append(f"{len(rows)} population row(s) are entries of the verified ledger")
    return True


def _attestations_verify(
    members: Mapping[str, bytes], public_key_pem: str, check: PackCheck
) -> None:
    from github_app.evidence.dsse import IN_TOTO_PAYLOAD_TYPE

    names = sorted(name for name in members if name.startswith("attestations/"))
    for name in names:
        outcome = verify_envelope(members[name], public_key_pem, IN_TOTO_PAYLOAD_TYPE)
        if not outcome.ok:
            check.fail(f"{name}: {outcome.reason}")
            return
    check.passed.append(f"{len(names)} attestation signature(s) valid")
