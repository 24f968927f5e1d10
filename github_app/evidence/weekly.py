"""Agent changes and their approval rate per ISO week (pure), for the console's overview chart.

An *agent change* is a population row with an agent (an agent PR merged, or an agent's direct
push).  The approval rate of a week is the share of those rows whose status is ``approved``.
Weeks start on Monday (UTC); weeks without changes are kept, so the chart has no gaps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from github_app.evidence.population import ChangeRow
from github_app.ledger.entry import parse_rfc3339


@dataclass(frozen=True)
class WeekStats:
    """One week: its Monday, how many agent changes, how many of them approved."""

    week: date
    changes: int
    approved: int

    @property
    def approval_rate(self) -> float | None:
        """Approved share in 0..1, or None for a week without agent changes."""
        return self.approved / self.changes if self.changes else None


def monday_of(moment: datetime) -> date:
    """The Monday (UTC) of the week ``moment`` falls in."""
    day = moment.date()
    return day - timedelta(days=day.weekday())


def weekly_stats(rows: Iterable[ChangeRow], *, until: datetime, weeks: int) -> list[WeekStats]:
    """The last ``weeks`` weeks up to the one containing ``until``, oldest first."""
    last = monday_of(until)
    first = last - timedelta(weeks=weeks - 1)
    changes: dict[date, int] = {}
    approved: dict[date, int] = {}
    for row in rows:
        if row.agent is None:
            continue
        week = monday_of(parse_rfc3339(row.occurred_at))
        if not first <= week <= last:
            continue
        changes[week] = changes.get(week, 0) + 1
        approved[week] = approved.get(week, 0) + (row.status == "approved")
    days = (first + timedelta(weeks=offset) for offset in range(weeks))
    return [WeekStats(day, changes.get(day, 0), approved.get(day, 0)) for day in days]
