"""Benchmark the evidence ledger on SQLite and/or PostgreSQL.

    .venv/bin/python bench/ledger.py --entries 1000000 --backend both

Builds a ledger of ``--entries`` realistic entries with ``append_many`` in batches (signing a
checkpoint after each batch, as a busy App would), then measures on that ledger:

* single-append rate, as a ratio to plain INSERTs of the same rows (sealed beforehand) into a
  same-sized copy of the table — same rows, columns and indexes, no triggers, no ledger logic —
  with the same durability: **one commit per row for both** (SQLite ``synchronous=FULL`` in WAL
  mode; PostgreSQL with fsync and synchronous_commit as the server has them, printed);
* batched-append rate, likewise against plain INSERTs in **batches of equal size**;
* session timeline p50/p99 (every entry of one session, by ``session_id``);
* change-population page p50/p99 (100 ``merge``/``direct_push`` entries of one repo in a
  90-day window);
* inclusion proofs for an audit sample of 25 entries (one pass over the hashes);
* ``verify`` rate (entries/s) and peak RSS, and an export-like full streaming read (every entry
  as a JSON line) with its time and peak RSS — each in a child process so RSS is its own.

Not a test: nothing here asserts; it prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from github_app.ledger import LedgerEntry, NewEntry
from github_app.ledger.checkpoints import CheckpointSigner
from github_app.ledger.entry import canonical_json
from github_app.store import Database
from github_app.store.ledger import Ledger
from github_app.store.tables import ledger_entries

DEFAULT_PG_URL = os.environ.get(
    "COUNTERSIGN_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=365)
KINDS = (
    ["decision"] * 40
    + ["approval"] * 20
    + ["merge"] * 15
    + ["agent_change_detected"] * 10
    + ["approval_invalidated"] * 5
    + ["alert"] * 4
    + ["push_denied"] * 3
    + ["direct_push"] * 2
    + ["post_review"]
)
ENTRIES_PER_SESSION = 20
REPOS = 200
PLAIN_TABLE = "bench_plain_inserts"


@dataclass
class Shape:
    """How the synthetic ledger is spread out."""

    entries: int

    @property
    def sessions(self) -> int:
        return max(1, self.entries // ENTRIES_PER_SESSION)


def synthetic_entry(rng: random.Random, shape: Shape, position: int) -> NewEntry:
    """A realistic entry; ``occurred_at`` grows with the position, like real traffic."""
    repo = rng.randrange(REPOS)
    return NewEntry(
        kind=rng.choice(KINDS),  # type: ignore[arg-type]
        occurred_at=EPOCH + SPAN * (position / shape.entries),
        session_id=f"session-{rng.randrange(shape.sessions)}",
        agent=rng.choice(("claude-code", "copilot", "devin", "codex")),
        launched_by=f"dev-{rng.randrange(500)}",
        repo=f"acme/repo-{repo}",
        repo_id=10_000 + repo,
        pr=rng.randrange(1, 5000),
        head_sha=f"{rng.getrandbits(160):040x}",
        actor=f"user-{rng.randrange(2000)}",
        delivery_id=str(uuid.UUID(int=rng.getrandbits(128))),
        payload_sha256=f"{rng.getrandbits(256):064x}",
        policy_sha=f"{rng.getrandbits(160):040x}",
        data={"state": rng.choice(("approved", "blocked", "waiting")), "signals": ["trailer"]},
    )


def entry_stream(seed: int, shape: Shape, start: int, count: int) -> Iterator[NewEntry]:
    rng = random.Random(seed)
    for position in range(start, start + count):
        yield synthetic_entry(rng, shape, position)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def build(ledger: Ledger, shape: Shape, batch: int) -> float:
    """Append ``shape.entries`` entries in batches, checkpointing after each; return entries/s."""
    started = time.perf_counter()
    done = 0
    while done < shape.entries:
        count = min(batch, shape.entries - done)
        ledger.append_many(entry_stream(done, shape, done, count))
        ledger.maybe_checkpoint()
        done += count
        print(f"\r  built {done:,}/{shape.entries:,}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return shape.entries / (time.perf_counter() - started)


def plain_copy(db: Database) -> tuple[sa.Table, int]:
    """A same-sized copy of ``ledger_entries`` (rows, columns, indexes), minus ledger logic.

    Plain INSERTs then hit B-trees as big as the ledger's, so the comparison is fair.
    Returns the table and its highest ``seq``.
    """
    metadata = sa.MetaData()
    table = ledger_entries.to_metadata(metadata, name=PLAIN_TABLE)
    for index in table.indexes:
        index.name = f"bench_{index.name}"
    metadata.drop_all(db.engine)
    metadata.create_all(db.engine)
    with db.transaction() as conn:
        conn.execute(sa.text(f"INSERT INTO {PLAIN_TABLE} SELECT * FROM ledger_entries"))
        top = conn.execute(sa.select(sa.func.max(table.c.seq))).scalar() or 0
    return table, top


def sealed_rows(entries: list[NewEntry], first_seq: int) -> list[dict[str, Any]]:
    """The rows the ledger would write for ``entries``, computed up front (no timing)."""
    rows = []
    prev = "0" * 64
    for seq, new in enumerate(entries, start=first_seq):
        entry = LedgerEntry.seal(
            new, seq=seq, id=str(uuid.uuid4()), recorded_at=datetime.now(UTC), prev_hash=prev
        )
        prev = entry.hash
        rows.append(entry.model_dump() | {"data": canonical_json(entry.data)})
    return rows


def rate(work: Callable[[], None], count: int) -> float:
    started = time.perf_counter()
    work()
    return count / (time.perf_counter() - started)


def measure_appends(
    db: Database, ledger: Ledger, shape: Shape, sample: int, batch: int, batches: int
) -> dict[str, float]:
    """Single and batched append rates next to plain INSERTs of the same rows."""
    table, top = plain_copy(db)
    single = list(entry_stream(7, shape, shape.entries, sample))
    grouped = list(entry_stream(8, shape, shape.entries + sample, batch * batches))
    rows = sealed_rows(single + grouped, top + 1)
    single_rows, grouped_rows = rows[:sample], rows[sample:]

    def plain_single() -> None:
        for row in single_rows:
            with db.transaction() as conn:
                conn.execute(table.insert(), row)

    def ledger_single() -> None:
        for entry in single:
            ledger.append(entry)

    def plain_batched() -> None:
        for start in range(0, len(grouped_rows), batch):
            with db.transaction() as conn:
                conn.execute(table.insert(), grouped_rows[start : start + batch])

    def ledger_batched() -> None:
        for start in range(0, len(grouped), batch):
            ledger.append_many(grouped[start : start + batch])

    results = {
        "single_plain": rate(plain_single, sample),
        "single_ledger": rate(ledger_single, sample),
        "batched_plain": rate(plain_batched, len(grouped)),
        "batched_ledger": rate(ledger_batched, len(grouped)),
    }
    with db.transaction() as conn:
        conn.execute(sa.text(f"DROP TABLE {PLAIN_TABLE}"))
    return results


def measure_queries(ledger: Ledger, shape: Shape, queries: int) -> dict[str, list[float]]:
    """Latencies (ms) of session timelines and change-population pages."""
    rng = random.Random(42)
    timeline, page = [], []
    for _ in range(queries):
        session = f"session-{rng.randrange(shape.sessions)}"
        started = time.perf_counter()
        list(ledger.entries(session_id=session))
        timeline.append((time.perf_counter() - started) * 1000)
    for _ in range(queries):
        since = EPOCH + timedelta(days=rng.randrange(0, 275))
        started = time.perf_counter()
        list(
            ledger.entries(
                repo=f"acme/repo-{rng.randrange(REPOS)}",
                kinds=["merge", "direct_push"],
                since=since,
                until=since + timedelta(days=90),
                limit=100,
            )
        )
        page.append((time.perf_counter() - started) * 1000)
    return {"timeline": timeline, "page": page}


def memory_kib() -> tuple[int, int]:
    """(current RSS, peak RSS) of this process in KiB.

    Read from /proc where possible: ``ru_maxrss`` survives ``exec`` on Linux, so in a child it
    would report the parent's size.  Elsewhere fall back to ``getrusage`` for both.
    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak, peak
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def child_main(task: str, url: str) -> None:
    """Run one full pass in this (child) process and print its figures as JSON."""
    db = Database.open(url)
    ledger = Ledger(db, None)
    ledger.head()  # connect and import everything before the baseline
    baseline, _ = memory_kib()
    started = time.perf_counter()
    if task == "verify":
        report = ledger.verify()
        count = report.entries_checked
        ok = report.ok
    else:
        count = 0
        with open(os.devnull, "w") as sink:
            for entry in ledger.entries(batch_size=5000):
                sink.write(entry.model_dump_json() + "\n")
                count += 1
        ok = True
    seconds = time.perf_counter() - started
    _, peak = memory_kib()
    print(json.dumps({"seconds": seconds, "count": count, "ok": ok, "rss0": baseline, "rss": peak}))


def in_child(task: str, url: str) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - our own script, our own arguments
        [sys.executable, __file__, "--child", task, url],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def describe_durability(db: Database) -> str:
    """The settings that decide what a commit costs, as the server reports them."""
    with db.connect() as conn:
        if db.dialect == "sqlite":
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            sync = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(
                conn.exec_driver_sql("PRAGMA synchronous").scalar(), "?"
            )
            return f"journal_mode={mode}, synchronous={sync}"
        fsync = conn.exec_driver_sql("SHOW fsync").scalar()
        commit = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
        return f"fsync={fsync}, synchronous_commit={commit}"


def open_backend(backend: str, args: argparse.Namespace, workdir: Path) -> tuple[Database, str]:
    """A fresh database for ``backend`` and the URL a child process can reopen it with."""
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
        return Database.open(url), url
    schema = f"cs_bench_{uuid.uuid4().hex[:8]}"
    db = Database.open(args.pg_url, schema=schema)
    url = sa.make_url(args.pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return db, url.render_as_string(hide_password=False)


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> list[list[Any]]:
    """Every measurement for one backend, as table rows."""
    shape = Shape(args.entries)
    db, url = open_backend(backend, args, workdir)
    try:
        db.migrate()
        signer = CheckpointSigner(Ed25519PrivateKey.generate())
        ledger = Ledger(db, signer, checkpoint_every=args.batch)
        print(f"[{backend}] building {shape.entries:,} entries…", file=sys.stderr)
        build_rate = build(ledger, shape, args.batch)
        print(f"[{backend}] measuring…", file=sys.stderr)
        appends = measure_appends(db, ledger, shape, args.sample, 1000, args.batches)
        latencies = measure_queries(ledger, shape, args.queries)
        sample = random.Random(5).sample(range(1, shape.entries + 1), 25)
        started = time.perf_counter()
        ledger.prove_many(sample)
        proving = time.perf_counter() - started
        verify = in_child("verify", url)
        export = in_child("export", url)
        durability = describe_durability(db)
    finally:
        if backend == "postgresql" and not args.keep:
            db.drop_schema()
        db.dispose()
    mb = 1024  # figures are in KiB
    single_ratio = appends["single_ledger"] / appends["single_plain"]
    batched_ratio = appends["batched_ledger"] / appends["batched_plain"]
    return [
        [backend, "durability (same for ledger and plain INSERTs)", durability],
        [
            backend,
            f"build (append_many ×{args.batch} + checkpoint)",
            f"{build_rate:,.0f} entries/s",
        ],
        [
            backend,
            f"single append, commit per row (n={args.sample})",
            f"{appends['single_ledger']:,.0f}/s vs plain {appends['single_plain']:,.0f}/s "
            f"= {single_ratio:.2f}×",
        ],
        [
            backend,
            f"batched append, 1000 rows per commit (n={1000 * args.batches})",
            f"{appends['batched_ledger']:,.0f}/s vs plain {appends['batched_plain']:,.0f}/s "
            f"= {batched_ratio:.2f}×",
        ],
        [
            backend,
            f"session timeline (~{ENTRIES_PER_SESSION} entries)",
            f"p50 {statistics.median(latencies['timeline']):.2f} ms, "
            f"p99 {percentile(latencies['timeline'], 0.99):.2f} ms",
        ],
        [
            backend,
            "change-population page (100 merge/direct_push, repo + 90 days)",
            f"p50 {statistics.median(latencies['page']):.2f} ms, "
            f"p99 {percentile(latencies['page'], 0.99):.2f} ms",
        ],
        [backend, "inclusion proofs for a sample of 25 (prove_many)", f"{proving:.2f} s"],
        [
            backend,
            f"verify ({'ok' if verify['ok'] else 'FAILED'}, {verify['count']:,} entries)",
            f"{verify['count'] / verify['seconds']:,.0f} entries/s, "
            f"peak RSS {verify['rss'] / mb:.0f} MiB (start {verify['rss0'] / mb:.0f})",
        ],
        [
            backend,
            f"export-like stream ({export['count']:,} entries as JSON lines)",
            f"{export['seconds']:.1f} s, peak RSS {export['rss'] / mb:.0f} MiB "
            f"(start {export['rss0'] / mb:.0f})",
        ],
    ]


def main() -> None:
    """Parse arguments, run the chosen backends, print the table."""
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child_main(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--batch", type=int, default=5000, help="append_many size when building")
    parser.add_argument("--sample", type=int, default=1000, help="single appends measured")
    parser.add_argument("--batches", type=int, default=20, help="batches of 1000 measured")
    parser.add_argument("--queries", type=int, default=200, help="queries per latency figure")
    parser.add_argument("--workdir", type=Path, default=None, help="where the SQLite file goes")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="countersign-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    rows: list[list[Any]] = []
    try:
        for backend in backends:
            rows += run_backend(backend, args, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(tabulate(rows, headers=["backend", "measure", "result"]))


if __name__ == "__main__":
    main()
