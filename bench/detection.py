"""Benchmark detection: the detection corpus judged with RE2 against Python's ``re``.

    .venv/bin/python bench/detection.py --seconds 3

Catalogue patterns run on RE2 so that no policy pattern can backtrack.  This measures what
that costs on ordinary PRs: every case of ``tests/core/corpus`` is judged with the shipped
catalogue as it is (RE2) and with the same catalogue whose compiled rules were swapped for
Python ``re`` objects (the baseline, built in the same run).  It then times one pathological
policy pattern, ``zz(x+x+)+y``, on growing non-matching lines with both engines (``re`` only up
to a length that finishes in seconds).  Not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import time
from pathlib import Path

from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "core"))

from test_corpus import CASES, load_case  # noqa: E402

from github_app.core.catalogue import Catalogue, compile_pattern, default_catalogue  # noqa: E402
from github_app.core.detection import detect  # noqa: E402

EVIL = "zz(x+x+)+y"


def with_stdlib_regexes(catalogue: Catalogue) -> Catalogue:
    """A copy of ``catalogue`` whose line rules are compiled by Python's ``re``."""
    twin = Catalogue(catalogue.spec, catalogue.builtin_names)
    swap = {
        rule: dataclasses.replace(rule, regex=re.compile(rule.pattern, re.IGNORECASE))
        for rule in twin.line_rules
    }
    twin._line_rules = tuple(swap[rule] for rule in twin.line_rules)
    twin._gates = tuple(
        dataclasses.replace(gate, rules=tuple(swap[rule] for rule in gate.rules))
        for gate in twin.gates
    )
    twin._ungated_rules = tuple(swap[rule] for rule in twin.ungated_rules)
    return twin


def per_pr_microseconds(catalogue: Catalogue, cases: list, seconds: float) -> float:
    judged, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for pr, commits, _ in cases:
            detect(pr, commits, catalogue)
            judged += 1
    return (time.perf_counter() - started) / judged * 1e6


def pathological(lengths: list[int], stdlib_limit: int) -> list[list[str]]:
    rows = []
    fast = compile_pattern(EVIL)
    slow = re.compile(EVIL, re.IGNORECASE)
    for length in lengths:
        line = "zz" + "x" * length
        started = time.perf_counter()
        fast.search(line)
        re2_ms = (time.perf_counter() - started) * 1e3
        stdlib = "not run"
        if length <= stdlib_limit:
            started = time.perf_counter()
            slow.search(line)
            stdlib = f"{(time.perf_counter() - started) * 1e3:,.1f}"
        rows.append([length + 2, f"{re2_ms:.3f}", stdlib])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per engine")
    parser.add_argument("--stdlib-limit", type=int, default=22, help="longest line for re")
    args = parser.parse_args()
    cases = [load_case(path) for path in CASES]
    shipped = default_catalogue()
    baseline = per_pr_microseconds(with_stdlib_regexes(shipped), cases, args.seconds)
    measured = per_pr_microseconds(shipped, cases, args.seconds)
    print(f"detection corpus: {len(cases)} PRs")
    print(
        tabulate(
            [
                ["Python re (baseline)", f"{baseline:,.0f}", "1.00x"],
                ["RE2 (shipped)", f"{measured:,.0f}", f"{measured / baseline:.2f}x"],
            ],
            headers=["engine", "µs per PR", "vs baseline"],
        )
    )
    print(f"\n{EVIL!r} on a non-matching line of 'zz' + 'x' * n")
    lengths = [10, 16, 20, args.stdlib_limit, 40, 1000, 100_000]
    print(
        tabulate(
            pathological(sorted(set(lengths)), args.stdlib_limit),
            headers=["line length", "RE2 ms", "Python re ms"],
        )
    )


if __name__ == "__main__":
    main()
