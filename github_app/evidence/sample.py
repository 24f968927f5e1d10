"""A reproducible random sample of the change population (pure).

The population is ordered by ledger ``seq`` (stable: the ledger is append-only and gap-free),
then ``random.Random(seed).sample`` picks ``n`` rows; the picks are returned in ledger order.
The seed is always used as text, so ``seed=42`` from the API and ``--seed 42`` from the CLI give
the same sample, on any machine and any Python process (string seeds are hashed with SHA-512 by
``random.seed``, not with the process-randomised ``hash()``).  With the same seed and the same
population, an auditor gets the same rows; a different seed gives a different draw.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from github_app.evidence.population import ChangeRow

DEFAULT_SAMPLE_SIZE = 25
MAX_SAMPLE_SIZE = 1000


@dataclass(frozen=True)
class Sample:
    """The drawn rows with what is needed to draw them again."""

    seed: str
    requested: int
    population_size: int
    rows: tuple[ChangeRow, ...]


def new_seed() -> str:
    """A fresh seed for callers that did not bring one (returned so the draw can be repeated)."""
    return secrets.token_hex(8)


def draw_sample(population: Sequence[ChangeRow], n: int, seed: str) -> Sample:
    """Pick ``min(n, len(population))`` rows reproducibly from ``population``."""
    if n < 1:
        raise ValueError("sample size must be at least 1")
    ordered = sorted(population, key=lambda row: row.seq)
    rng = random.Random(str(seed))  # noqa: S311 - reproducibility, not secrecy, is the point
    picked = rng.sample(ordered, min(n, len(ordered)))
    return Sample(
        seed=str(seed),
        requested=n,
        population_size=len(ordered),
        rows=tuple(sorted(picked, key=lambda row: row.seq)),
    )
