"""Geometry of the overview chart: agent changes per week (bars) and approval rate (line).

The chart is plain SVG drawn on the server (no script, nothing from another host); this
module turns :class:`~github_app.evidence.weekly.WeekStats` into coordinates the template
draws.  The same numbers are also shown as a table under the chart for screen readers.
"""

from __future__ import annotations

from dataclasses import dataclass

from github_app.evidence.weekly import WeekStats

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 48, 16, 40


@dataclass(frozen=True)
class Bar:
    """One week's bar and, when the week had changes, its approval-rate point."""

    x: float
    y: float
    width: float
    height: float
    label: str
    changes: int
    rate_percent: int | None
    point_y: float | None


@dataclass(frozen=True)
class Chart:
    """Everything the SVG template needs."""

    width: int
    height: int
    left: int
    right: float
    top: int
    base: float
    max_changes: int
    bars: list[Bar]
    line: str  # SVG polyline points of the approval rate

    @property
    def mid(self) -> float:
        """The y of the 50% grid line."""
        return (self.top + self.base) / 2


def build_chart(weeks: list[WeekStats]) -> Chart:
    """Lay ``weeks`` out on the chart area."""
    base, plot_height = HEIGHT - BOTTOM, HEIGHT - BOTTOM - TOP
    top_value = max([week.changes for week in weeks] + [1])
    slot = (WIDTH - LEFT - RIGHT) / max(len(weeks), 1)
    bars = []
    for index, week in enumerate(weeks):
        height = plot_height * week.changes / top_value
        rate = week.approval_rate
        bars.append(
            Bar(
                x=round(LEFT + index * slot + slot * 0.15, 1),
                y=round(base - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
                label=week.week.strftime("%d %b"),
                changes=week.changes,
                rate_percent=None if rate is None else round(rate * 100),
                point_y=None if rate is None else round(base - plot_height * rate, 1),
            )
        )
    line = " ".join(
        f"{bar.x + bar.width / 2:.1f},{bar.point_y}" for bar in bars if bar.point_y is not None
    )
    return Chart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, TOP, base, top_value, bars, line)
