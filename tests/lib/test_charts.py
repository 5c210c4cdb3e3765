"""lib.charts: the geometry of the small charts, plain values in and out."""

from __future__ import annotations

import pytest

from lib.charts import CHART, SPARK, Frame, line, nice_ceiling, stacked_bars

SERIES = ("succeeded", "failed")
DAYS = ["Nov 23", "Nov 24", "Nov 25"]


def _bars(stacks, frame=CHART):
    return stacked_bars(stacks, DAYS[: len(stacks)], series=SERIES, frame=frame)


def _centre(bar) -> float:
    return bar.x + bar.width / 2


def test_a_day_without_deliveries_has_a_zero_height_bar():
    chart = _bars([(3, 1), (0, 0), (2, 0)])

    empty = chart.bars[1]
    assert (empty.total, empty.height, empty.segments) == (0, 0, ())
    assert empty.y == CHART.baseline


def test_bar_heights_are_proportional_to_the_totals():
    chart = _bars([(2, 0), (4, 0), (5, 3)])

    heights = [bar.height for bar in chart.bars]

    assert heights[1] == pytest.approx(2 * heights[0])
    assert heights[2] == pytest.approx(4 * heights[0])


def test_the_scale_reaches_the_top_of_the_plot():
    chart = _bars([(4, 2), (1, 0)])  # the largest total, 6, is a round number

    assert chart.top_value == 6
    assert chart.bars[0].y == CHART.top
    assert chart.bars[0].height == CHART.plot_height
    assert [tick.text for tick in chart.ticks] == ["6", "0"]


def test_segments_stack_bottom_up_in_series_order():
    bar = _bars([(3, 1)]).bars[0]

    succeeded, failed = bar.segments
    assert (succeeded.series, failed.series) == SERIES
    assert succeeded.y + succeeded.height == pytest.approx(CHART.baseline)
    assert failed.y + failed.height == pytest.approx(succeeded.y)
    assert succeeded.height == pytest.approx(3 * failed.height)


def test_a_series_with_nothing_that_day_has_no_segment():
    bar = _bars([(0, 2)]).bars[0]

    assert [segment.series for segment in bar.segments] == ["failed"]


def test_labels_are_the_days_centred_under_their_bars():
    chart = _bars([(1, 0), (2, 0), (3, 0)])

    assert [label.text for label in chart.labels] == DAYS
    assert [label.x for label in chart.labels] == pytest.approx(
        [_centre(bar) for bar in chart.bars]
    )
    assert all(label.y > CHART.baseline for label in chart.labels)


def test_bars_stay_inside_the_plot_and_apart():
    chart = _bars([(1, 0), (2, 0), (3, 0)])

    assert chart.bars[0].x >= CHART.left
    assert chart.bars[-1].x + chart.bars[-1].width <= CHART.plot_right
    for left, right in zip(chart.bars, chart.bars[1:], strict=False):
        assert left.x + left.width < right.x


def test_nothing_at_all_still_has_a_scale_and_flat_bars():
    chart = _bars([(0, 0), (0, 0)])

    assert chart.top_value == 1
    assert [bar.height for bar in chart.bars] == [0, 0]


@pytest.mark.parametrize(
    ("largest", "top"),
    [(0, 1), (1, 1), (3, 3), (7, 8), (9, 10), (11, 15), (240, 250), (1234, 1500)],
)
def test_the_scale_top_is_a_round_number_not_below_the_largest(largest, top):
    assert nice_ceiling(largest) == top


def test_a_sparkline_fills_its_small_frame():
    chart = _bars([(1, 0), (4, 0)], frame=SPARK)

    assert chart.bars[1].height == SPARK.plot_height
    assert chart.bars[0].x >= 0
    assert chart.bars[1].x + chart.bars[1].width <= SPARK.width


def test_a_line_with_a_fixed_top_puts_it_at_the_top_of_the_plot():
    chart = line([100, 50, 0], DAYS, top=100)

    assert [p.y for p in chart.points] == pytest.approx(
        [CHART.top, (CHART.top + CHART.baseline) / 2, CHART.baseline]
    )
    assert [tick.text for tick in chart.ticks] == ["100", "0"]


def test_line_points_sit_over_the_bars_of_the_same_days():
    points = line([1, 2, 3], DAYS).points
    bars = _bars([(1, 0), (2, 0), (3, 0)]).bars

    assert [p.x for p in points] == pytest.approx([_centre(bar) for bar in bars])


def test_a_day_without_a_value_breaks_the_line():
    chart = line([120, 80, None, 200, 150], [*DAYS, "Nov 26", "Nov 27"])

    assert [p.value for p in chart.points] == [120, 80, 200, 150]
    assert len(chart.lines) == 2
    first, second = (run.split() for run in chart.lines)
    assert len(first) == len(second) == 2


def test_a_lone_value_is_a_point_without_a_line():
    chart = line([None, 300, None], DAYS)

    assert [p.value for p in chart.points] == [300]
    assert chart.lines == ()


def test_a_line_without_a_top_scales_to_its_largest_value():
    chart = line([180, None, 90], DAYS)

    assert chart.top_value == 200
    assert chart.points[0].y == pytest.approx(CHART.baseline - 0.9 * CHART.plot_height)


def test_every_value_needs_a_label():
    with pytest.raises(ValueError, match="one label per value"):
        line([1, 2], DAYS)
    with pytest.raises(ValueError, match="one value per series"):
        stacked_bars([(1, 2, 3)], DAYS[:1], series=SERIES)


def test_a_frame_can_be_any_size():
    frame = Frame(width=100, height=50, left=10, right=0, top=0, bottom=10)

    chart = stacked_bars([(5, 5)], ["Nov 23"], series=SERIES, frame=frame)

    assert chart.bars[0].height == frame.plot_height == 40
