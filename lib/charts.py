"""Geometry of the dashboard's small charts: numbers in, coordinates out.

Nothing here draws. A template turns what these functions return into inline
SVG, so the arithmetic is tested with plain values and the markup stays in
templates. Coordinates are SVG user units inside a viewBox of `Frame.width` by
`Frame.height`, y growing downwards: the browser scales the whole drawing to
the width it is given, text included, so a chart never overflows a phone.

Every chart divides its plot area into equal slots, one per value. Bars stand
in the middle of their slot and a line's points sit on the same centres, so
charts of the same days drawn one under the other line up day by day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import floor, log10

# The scale's top is the first of these, times a power of ten, that is not below
# the largest value: round numbers on the scale, never less than 2/3 of the plot
# height used by the largest bar or point.
NICE_STEPS = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)
BAR_WIDTH = 0.6  # of a slot: the rest is the gap between two bars


@dataclass(frozen=True)
class Frame:
    """The viewBox and, inside it, the margins around the plot area: room for
    the scale at the left and for the slot labels below."""

    width: float = 240
    height: float = 120
    left: float = 32
    right: float = 4
    top: float = 8
    bottom: float = 16

    @property
    def plot_right(self) -> float:
        return self.width - self.right

    @property
    def baseline(self) -> float:
        return self.height - self.bottom

    @property
    def plot_height(self) -> float:
        return self.baseline - self.top

    def slot(self, count: int) -> float:
        return (self.width - self.left - self.right) / count

    def centre(self, index: int, count: int) -> float:
        return self.left + (index + 0.5) * self.slot(count)


CHART = Frame()
# A sparkline: no scale, no labels, just the shape.
SPARK = Frame(width=84, height=24, left=0, right=0, top=1, bottom=0)


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Segment:
    """One series' part of a stacked bar, named as the caller named it."""

    series: str
    value: int
    y: float
    height: float


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    total: int
    y: float
    height: float
    # Bottom first; a series with nothing that day has no segment.
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: float


@dataclass(frozen=True)
class Chart:
    frame: Frame
    top_value: float
    # The scale: the top value and 0 at the left, with a gridline at each.
    ticks: tuple[Label, ...]
    gridlines: tuple[float, ...]
    # One per slot, centred below it.
    labels: tuple[Label, ...]
    bars: tuple[Bar, ...] = ()
    points: tuple[Point, ...] = ()
    # SVG polyline `points` strings, one per run of slots that all have values:
    # a slot without a value breaks the line instead of drawing it down to 0.
    lines: tuple[str, ...] = ()


def nice_ceiling(value: float) -> float:
    """The smallest round number not below `value`; 1 for nothing to show."""
    if value <= 0:
        return 1
    power = 10.0 ** floor(log10(value))
    for step in NICE_STEPS:
        if step * power >= value:
            return _plain(round(step * power, 9))
    raise AssertionError("unreachable: NICE_STEPS ends at 10")


def stacked_bars(
    stacks: Sequence[Sequence[int]],
    labels: Sequence[str],
    *,
    series: Sequence[str],
    frame: Frame = CHART,
) -> Chart:
    """One bar per stack, its values piled bottom up in the order of `series`
    (their names), heights proportional to the values on a scale from 0 to
    nice_ceiling(the largest total)."""
    _check_labels(stacks, labels)
    if any(len(stack) != len(series) for stack in stacks):
        raise ValueError("every stack needs one value per series")
    top = nice_ceiling(max((sum(stack) for stack in stacks), default=0))
    width = frame.slot(len(stacks)) * BAR_WIDTH
    bars = tuple(
        _bar(
            list(zip(series, stack, strict=True)),
            frame.centre(i, len(stacks)) - width / 2,
            width,
            top,
            frame,
        )
        for i, stack in enumerate(stacks)
    )
    return _chart(frame, top, labels, bars=bars)


def line(
    values: Sequence[float | None],
    labels: Sequence[str],
    *,
    top: float | None = None,
    frame: Frame = CHART,
) -> Chart:
    """A point per value on a scale from 0 to `top` (by default the nice ceiling
    of the largest value), joined while the values follow each other; None is
    a slot without a value (no point, and a break in the line)."""
    _check_labels(values, labels)
    present = [value for value in values if value is not None]
    top = top if top is not None else nice_ceiling(max(present, default=0))
    slots = [
        None if value is None else _point(value, i, len(values), top, frame)
        for i, value in enumerate(values)
    ]
    points = tuple(point for point in slots if point is not None)
    return _chart(frame, top, labels, points=points, lines=_runs(slots))


def _bar(
    stack: list[tuple[str, int]], x: float, width: float, top: float, frame: Frame
) -> Bar:
    segments, y = [], frame.baseline
    for name, value in stack:
        if value:
            height = value / top * frame.plot_height
            y -= height
            segments.append(Segment(name, value, _r(y), _r(height)))
    total = sum(value for _, value in stack)
    height = frame.baseline - y
    return Bar(_r(x), _r(width), total, _r(y), _r(height), tuple(segments))


def _point(value: float, index: int, count: int, top: float, frame: Frame) -> Point:
    y = frame.baseline - value / top * frame.plot_height
    return Point(_r(frame.centre(index, count)), _r(y), value)


def _runs(slots: Sequence[Point | None]) -> tuple[str, ...]:
    runs: list[list[Point]] = [[]]
    for point in slots:
        if point is None:
            runs.append([])
        else:
            runs[-1].append(point)
    return tuple(
        " ".join(f"{p.x:g},{p.y:g}" for p in run) for run in runs if len(run) > 1
    )


def _chart(
    frame: Frame,
    top: float,
    labels: Sequence[str],
    *,
    bars: tuple[Bar, ...] = (),
    points: tuple[Point, ...] = (),
    lines: tuple[str, ...] = (),
) -> Chart:
    # The scale's numbers end just left of the plot; the unit is in the caption.
    tick_x = frame.left - 4
    ticks = (
        Label(tick_x, frame.top + 3.5, f"{_plain(top)}"),
        Label(tick_x, frame.baseline + 3.5, "0"),
    )
    mid = (frame.top + frame.baseline) / 2
    slot_labels = tuple(
        Label(_r(frame.centre(i, len(labels))), frame.height - 4, text)
        for i, text in enumerate(labels)
    )
    gridlines = (frame.top, mid, frame.baseline)
    return Chart(frame, top, ticks, gridlines, slot_labels, bars, points, lines)


def _check_labels(values: Sequence[object], labels: Sequence[str]) -> None:
    if not values or len(values) != len(labels):
        raise ValueError("a chart needs values, and one label per value")


def _r(coordinate: float) -> float:
    """Hundredths of a unit are finer than any screen shows."""
    return round(coordinate, 2)


def _plain(number: float) -> float:
    """1500.0 as 1500: whole numbers print without a decimal point."""
    return int(number) if float(number).is_integer() else number
