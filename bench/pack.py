"""Benchmark the audit pack against the JSONL export of the same ledger (SQLite).

    .venv/bin/python bench/pack.py --entries 20000

Builds a ledger of ``--entries`` entries spread over 180 days (a ``merge`` every fifth entry,
a checkpoint every 1000), then measures, in the same run:

* building the pack of the last 90 days (population, sample, exceptions, the entries between
  the surrounding checkpoints, one signed attestation per merge, zip, signed manifest), against
  the baseline of streaming the whole ledger as a JSONL export;
* verifying that pack offline (``verify_pack``) against verifying the whole export offline
  (``verify_export``).

Not a test: nothing here asserts; it prints a table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from github_app.api.export import ExportCursor
from github_app.api.pack import build_pack
from github_app.evidence.offline import verify_export
from github_app.evidence.pack import verify_pack
from github_app.ledger import NewEntry, load_or_create_signing_key
from github_app.store import Database
from github_app.store.ledger import Ledger

SPAN_DAYS = 180


def entries(count: int, now: datetime) -> list[NewEntry]:
    step = timedelta(days=SPAN_DAYS) / count
    made = []
    for index in range(count):
        pr = index // 5 + 1
        common = {
            "occurred_at": now - timedelta(days=SPAN_DAYS) + step * index,
            "session_id": f"sess-{pr}",
            "agent": "claude-code",
            "launched_by": "alice",
            "repo": "acme/app",
            "repo_id": 1,
            "pr": pr,
            "head_sha": f"{pr:040x}",
            "policy_sha": "e" * 64,
        }
        if index % 5 == 4:
            data = {
                "state": "approved",
                "passing": True,
                "approvers": ["bob", "erin"],
                "approved_sha": f"{pr:040x}",
                "merge_sha": f"{pr + 10**9:040x}",
                "merged_by": "bob",
                "base_ref": "main",
                "title": f"Change {pr}",
            }
            made.append(NewEntry(kind="merge", data=data, **common))
        else:
            made.append(NewEntry(kind="decision", data={"state": "pending"}, **common))
    return made


def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    args = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as folder:
        db = Database.open(f"sqlite:///{Path(folder) / 'bench.db'}")
        db.migrate()
        ledger = Ledger(db, load_or_create_signing_key(Path(folder) / "k"), checkpoint_every=1000)
        batch = entries(args.entries, now)
        for start in range(0, len(batch), 1000):
            ledger.append_many(batch[start : start + 1000])
            ledger.checkpoint()

        def export() -> str:
            cursor, chunks = ExportCursor(ledger, "jsonl"), []
            while (chunk := cursor.next_chunk()) is not None:
                chunks.append(chunk)
            return "".join(chunks)

        export_time, text = timed(export)
        since = now - timedelta(days=90)
        pack_time, pack = timed(
            lambda: build_pack(ledger, since=since, until=now, n=25, seed="b", web_url="https://x")
        )
        key = ledger.signer.public_key_pem()
        lines = [json.loads(line) for line in text.splitlines()]
        records, checkpoint = lines[:-1], lines[-1]["checkpoint"]
        verify_export_time, outcome = timed(lambda: verify_export(records, checkpoint))
        verify_pack_time, check = timed(lambda: verify_pack(pack, key))
        assert outcome.ok and check.ok
        merges = args.entries // 5 // 2
        print(f"ledger: {args.entries} entries, 90-day pack holds ~{merges} attested merges")
        print(f"{'measure':42} {'seconds':>9} {'vs baseline':>12}")
        print(f"{'export whole ledger (baseline)':42} {export_time:9.3f} {'1.00x':>12}")
        print(f"{'build 90-day pack':42} {pack_time:9.3f} {pack_time / export_time:11.2f}x")
        print(
            f"{'verify whole export offline (baseline)':42} {verify_export_time:9.3f} {'1.00x':>12}"
        )
        ratio = verify_pack_time / verify_export_time
        print(f"{'verify 90-day pack offline':42} {verify_pack_time:9.3f} {ratio:11.2f}x")
        print(f"pack size: {len(pack) / 1e6:.1f} MB, export size: {len(text) / 1e6:.1f} MB")
        db.dispose()


if __name__ == "__main__":
    main()
