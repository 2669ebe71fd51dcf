"""Stacked bar charts as geometry: the console draws them as SVG on the server, so a page needs no
chart library, no script and no inline style (its CSP allows none). Everything here is numbers and
words; a template turns the rectangles into ``<rect>`` elements and the ticks into ``<text>``.

Coordinates are in the SVG's own user units (``viewBox="0 0 width height"``): y grows downwards, so
a bar's segments stack upwards from the plot's bottom edge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    """The plot area inside the SVG, leaving room for the axis labels."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def width(self) -> float:
        return self.right - self.left


@dataclass(frozen=True)
class Segment:
    series: str  # what the caller named it (a class name for its colour, a filter value for its link)
    label: str  # as people read it
    value: int
    x: float
    y: float
    width: float
    height: float

    @property
    def text(self) -> str:
        return f"{self.label}: {self.value:,}"


@dataclass(frozen=True)
class Bar:
    key: str  # the caller's name for the column (e.g. the day a link should open)
    label: str
    segments: tuple[Segment, ...]  # bottom first; only series with a value
    total: int
    x: float
    width: float
    show_label: bool  # the x axis names every n-th bar so the labels never overlap

    @property
    def label_x(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class Tick:
    value: int
    y: float

    @property
    def text(self) -> str:
        return f"{self.value:,}"


@dataclass(frozen=True)
class StackedBarChart:
    width: float
    height: float
    plot: Box
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]  # y axis, from 0 up
    series: tuple[tuple[str, str], ...]  # (series, label), bottom first: the legend and the table's columns
    totals: Mapping[str, int]  # per series over all bars

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    @property
    def summary(self) -> str:
        """One sentence a screen reader reads for the whole chart (the table has the details)."""
        if not self.total:
            return f"No actions in {len(self.bars)} bars."
        parts = ", ".join(f"{label} {self.totals[series]:,}" for series, label in self.series if self.totals[series])
        return f"{self.total:,} actions in {len(self.bars)} bars: {parts}."


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above ``value`` (1 for nothing): an axis top that reads well."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        top = step * magnitude
        if top >= value and top == int(top):
            return int(top)
    return 10 * magnitude  # pragma: no cover - the loop always ends at 10 × magnitude


def axis_ticks(top: int, plot: Box, *, count: int = 4) -> tuple[Tick, ...]:
    """``count`` + 1 ticks from 0 to ``top`` at whole-number steps (fewer when ``top`` is small)."""
    steps = min(count, top)
    values = sorted({round(top * n / steps) for n in range(steps + 1)})
    return tuple(Tick(value, plot.bottom - plot.height * value / top) for value in values)


def stacked_bars(
    columns: Sequence[tuple[str, str, Mapping[str, int]]],
    series: Sequence[tuple[str, str]],
    *,
    width: float = 720,
    height: float = 240,
    plot: Box | None = None,
    gap: float = 0.2,
    max_labels: int = 8,
) -> StackedBarChart:
    """``columns``: (key, label, {series: value}) left to right; ``series``: (name, label), bottom first.

    Every bar shares one scale (0 to a round number at or above the tallest bar); ``gap`` is the
    share of each bar's slot left empty between bars.
    """
    plot = plot or Box(left=48, top=8, right=width - 8, bottom=height - 28)
    top = nice_ceiling(max((sum(values.get(name, 0) for name, _ in series) for *_, values in columns), default=0))
    slot = plot.width / max(len(columns), 1)
    label_every = max(1, math.ceil(len(columns) / max_labels))
    bars = []
    for index, (key, label, values) in enumerate(columns):
        x = plot.left + slot * index + slot * gap / 2
        bar_width = slot * (1 - gap)
        stacked = 0
        segments = []
        for name, series_label in series:
            value = values.get(name, 0)
            if value <= 0:
                continue
            segment_top = plot.bottom - plot.height * (stacked + value) / top
            segments.append(Segment(name, series_label, value, x=round(x, 2), y=round(segment_top, 2),
                                    width=round(bar_width, 2), height=round(plot.height * value / top, 2)))
            stacked += value
        bars.append(Bar(key, label, tuple(segments), stacked, x=round(x, 2), width=round(bar_width, 2),
                        show_label=index % label_every == 0))
    totals = {name: sum(values.get(name, 0) for *_, values in columns) for name, _ in series}
    return StackedBarChart(width=width, height=height, plot=plot, bars=tuple(bars), ticks=axis_ticks(top, plot),
                           series=tuple(series), totals=totals)
