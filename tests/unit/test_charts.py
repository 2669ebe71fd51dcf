"""Stacked bars as geometry: one scale for every bar, segments stacked from the bottom, round ticks."""

from __future__ import annotations

import pytest

from app.domain.charts import Box, axis_ticks, nice_ceiling, stacked_bars

SERIES = [("ALLOW", "Allow"), ("CHALLENGE", "Challenge"), ("BLOCK", "Block")]
PLOT = Box(left=0, top=0, right=100, bottom=100)


@pytest.mark.parametrize(("value", "top"), [
    (0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (11, 20), (24, 25), (26, 50), (101, 200), (1_999, 2_000), (2_001, 2_500),
])
def test_the_axis_tops_at_a_round_number_at_or_above_the_tallest_bar(value, top):
    assert nice_ceiling(value) == top


def test_ticks_run_from_zero_to_the_top_in_whole_steps():
    ticks = axis_ticks(200, PLOT)
    assert [(t.value, t.y) for t in ticks] == [(0, 100), (50, 75), (100, 50), (150, 25), (200, 0)]
    assert ticks[-1].text == "200"
    assert [t.value for t in axis_ticks(2, PLOT)] == [0, 1, 2]  # never a tick at 0.5 actions


def test_segments_stack_upwards_on_one_scale():
    chart = stacked_bars([("d1", "Mon", {"ALLOW": 30, "BLOCK": 10}), ("d2", "Tue", {"CHALLENGE": 50})],
                         SERIES, plot=PLOT, gap=0)
    first, second = chart.bars
    assert first.total == 40 and second.total == 50
    allow, block = first.segments  # no segment for a series without actions
    assert (allow.series, allow.y, allow.height) == ("ALLOW", 40, 60)  # the top is 50: 30 of 50 is 60 units
    assert (block.series, block.y, block.height) == ("BLOCK", 20, 20)  # on top of allow
    assert second.segments[0].y == 0 and second.segments[0].height == 100
    assert (first.x, first.width, second.x) == (0, 50, 50)
    assert block.text == "Block: 10"


def test_totals_and_summary_name_every_series_with_actions():
    chart = stacked_bars([("a", "A", {"ALLOW": 1_200}), ("b", "B", {"ALLOW": 3, "BLOCK": 4})], SERIES, plot=PLOT)
    assert chart.totals == {"ALLOW": 1_203, "CHALLENGE": 0, "BLOCK": 4}
    assert chart.total == 1_207
    assert chart.summary == "1,207 actions in 2 bars: Allow 1,203, Block 4."


def test_an_empty_chart_has_bars_without_segments_and_says_so():
    chart = stacked_bars([("a", "A", {}), ("b", "B", {})], SERIES, plot=PLOT)
    assert all(bar.segments == () and bar.total == 0 for bar in chart.bars)
    assert [t.value for t in chart.ticks] == [0, 1]
    assert chart.summary == "No actions in 2 bars."


def test_the_x_axis_names_every_nth_bar_so_labels_never_crowd():
    chart = stacked_bars([(str(h), f"{h:02d}:00", {"ALLOW": 1}) for h in range(24)], SERIES, max_labels=6)
    assert [bar.label for bar in chart.bars if bar.show_label] == ["00:00", "04:00", "08:00", "12:00", "16:00", "20:00"]
    assert all(chart.plot.left <= bar.x and bar.x + bar.width <= chart.plot.right for bar in chart.bars)
