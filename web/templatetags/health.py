"""`{% load health %}`: the 7-day health charts, and "how long ago" in words.

The tags turn a product's days (fulfillment.selectors.health.DayTally or DayHealth) into
plain values for lib.charts and hand its geometry to a template that draws the
SVG. Each chart carries its text alternative: an aria-label with every day's
figure, so a screen reader hears what the picture shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.timesince import timesince

from fulfillment.selectors.health import DayHealth, DayTally
from lib.charts import CHART, SPARK, line, stacked_bars

register = template.Library()

# Bottom up; the names are the SVG classes that app.css colours.
SERIES = ("succeeded", "failed", "other")
JUST_NOW = timedelta(minutes=1)


def day_label(day: date) -> str:
    return date_format(day, "M j")


def axis_labels(days: Sequence[date]) -> list[str]:
    """The day of the month under each day, with the month on the first day and
    on the first of a month only ("Nov 23", "24", ..., "Dec 1"), so that
    seven labels fit under a chart on a phone."""
    return [
        day_label(day) if i == 0 or day.day == 1 else str(day.day)
        for i, day in enumerate(days)
    ]


@register.filter
def ago(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in the largest unit only: "just now" under a minute, then
    "3 minutes ago", "2 hours ago", "1 day ago"; never "0 minutes ago"."""
    if value is None:
        return ""
    now = now or timezone.now()
    if now - value < JUST_NOW:
        return "just now"
    return f"{timesince(value, now, depth=1)} ago"


@register.inclusion_tag("dashboard/charts/_deliveries.html")
def deliveries_chart(days: Sequence[DayTally], spark: bool = False) -> dict:
    """Deliveries per day, stacked: succeeded, failed, and the rest (still in
    progress or cancelled). `spark` draws the small one of a list row."""
    stacks = [(d.succeeded, d.failed, d.in_progress + d.cancelled) for d in days]
    frame = SPARK if spark else CHART
    chart = stacked_bars(
        stacks, axis_labels([d.day for d in days]), series=SERIES, frame=frame
    )
    labels = [day_label(d.day) for d in days]
    said = "; ".join(f"{day_label(d.day)} {_deliveries_said(d)}" for d in days)
    bars = zip(chart.bars, [_deliveries_said(d) for d in days], labels, strict=True)
    return {
        "chart": chart,
        "bars": list(bars),
        "spark": spark,
        "label": f"Deliveries per day: {said}.",
    }


@register.inclusion_tag("dashboard/charts/_line.html")
def success_chart(days: Sequence[DayTally]) -> dict:
    """The share of each day's finished deliveries that succeeded, 0 to 100 %."""
    rates = [d.success_percent for d in days]
    said = [_or(rate, " %", "none finished") for rate in rates]
    return _line_context(
        days,
        rates,
        said,
        name="Success rate per day",
        top=100,
        empty="No finished deliveries in the last 7 days yet.",
    )


@register.inclusion_tag("dashboard/charts/_line.html")
def p95_chart(days: Sequence[DayHealth]) -> dict:
    """Each day's p95 response time of the answers from the seller's server."""
    times = [d.p95_ms for d in days]
    said = [_or(ms, " ms", "no answers") for ms in times]
    return _line_context(
        days,
        times,
        said,
        name="p95 response time per day",
        top=None,
        empty="No answers from your server in the last 7 days.",
    )


def _line_context(
    days: Sequence[DayTally],
    values: Sequence[int | None],
    said: list[str],
    *,
    name: str,
    top: float | None,
    empty: str,
) -> dict:
    labels = [day_label(d.day) for d in days]
    chart = line(values, axis_labels([d.day for d in days]), top=top)
    pairs = zip(labels, said, strict=True)
    text = "; ".join(f"{label} {words}" for label, words in pairs)
    # chart.points has a point for each day with a value, in order.
    titles = [
        f"{label}: {words}"
        for label, words, value in zip(labels, said, values, strict=True)
        if value is not None
    ]
    return {
        "chart": chart,
        "points": list(zip(chart.points, titles, strict=True)),
        "empty": empty if not chart.points else "",
        "label": f"{name}: {text}.",
    }


def _deliveries_said(day: DayTally) -> str:
    if not day.deliveries:
        return "no deliveries"
    parts = [f"{day.succeeded} succeeded", f"{day.failed} failed"]
    if day.in_progress:
        parts.append(f"{day.in_progress} in progress")
    if day.cancelled:
        parts.append(f"{day.cancelled} cancelled")
    return f"{day.deliveries} ({', '.join(parts)})"


def _or(value: int | None, unit: str, missing: str) -> str:
    return missing if value is None else f"{value}{unit}"
