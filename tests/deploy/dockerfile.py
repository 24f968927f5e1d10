"""A small reader for the repository's Dockerfile: instructions, stages, ENV values."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    keyword: str
    argument: str
    stage: str


def instructions(path: Path = REPO / "Dockerfile") -> list[Instruction]:
    """The instructions in order, each tagged with the name of its build stage."""
    joined = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    found, stage = [], ""
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, argument = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage = argument.split(" AS ")[-1].strip() if " AS " in argument else argument
        found.append(Instruction(keyword, argument.strip(), stage))
    return found


def env_of(stage: str) -> dict[str, str]:
    """The ENV values set in ``stage``."""
    values: dict[str, str] = {}
    for item in instructions():
        if item.stage == stage and item.keyword == "ENV":
            for pair in shlex.split(item.argument):
                key, _, value = pair.partition("=")
                values[key] = value
    return values
