"""Print the three figures to watch (fulfillment/ops.py defines them)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from fulfillment.ops import OpsStatus, format_age, ops_status


class Command(BaseCommand):
    help = (
        "Show what to watch now. Oldest due delivery: among real deliveries that "
        "are pending or retrying and due (next attempt time past or unset) or in "
        "flight, the one due the longest (since its next attempt time, or its "
        "creation if unset), with its age. Failures per minute: failed attempts "
        "of real deliveries started in the last 5 and 15 minutes, per minute. "
        "Open circuits: endpoints whose circuit breaker is open now, with how "
        "long, consecutive failures, the last error and the deliveries waiting."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", help="One JSON object, for scripts."
        )

    def handle(self, *args, **options):
        status = ops_status()
        if options["json"]:
            self.stdout.write(json.dumps(status.as_dict(), indent=2))
        else:
            self.stdout.write("\n".join(_lines(status)))


def _lines(status: OpsStatus) -> list[str]:
    oldest = status.oldest_due
    lines = [
        "Oldest due delivery: "
        + (
            f"{format_age(oldest.age)} ({oldest.delivery_id}, {oldest.status}, "
            f"due since {oldest.due_since:%Y-%m-%d %H:%M:%S} UTC)"
            if oldest
            else "none, nothing is waiting"
        ),
        "Failed attempts per minute: "
        + ", ".join(
            f"{rate.per_minute:.2f} over the last {rate.minutes} min "
            f"({rate.failures} failed)"
            for rate in status.failure_rates
        ),
        f"Open circuits: {len(status.open_circuits)}",
    ]
    for circuit in status.open_circuits:
        lines.append(
            f"  {circuit.key}: open until {circuit.open_until:%Y-%m-%d %H:%M:%S} UTC, "
            f"{circuit.consecutive_failures} consecutive failures, "
            f"{circuit.waiting} deliveries waiting; last error: {circuit.last_error}"
        )
    return lines
