"""The chaos run's summary as text: the figures of each run and its PASS/FAIL
lines, in the order the issue asks for them."""

from __future__ import annotations


def _fmt(group: dict) -> str:
    if not group.get("n"):
        return "n=0"
    n, p50, p95, top = (group[key] for key in ("n", "p50", "p95", "max"))
    return f"n={n:<4} p50 {p50:>6.2f}  p95 {p95:>6.2f}  max {top:>6.2f}"


def _integrity(figures: dict) -> list[str]:
    o, e, r = (figures["integrity"][key] for key in ("orders", "emails", "requests"))
    c = figures["clients"]
    return [
        f"orders        {o['created']} created of {o['planned']} planned; "
        f"{o['fulfilled']} fulfilled, {o['emailed']} emailed; "
        f"{o['deliveries']} deliveries",
        f"clients       {c['created_201']} × 201, {c['repeats_200']} × 200 (repeat); "
        f"{c['retries']} retries over {c['orders_retried']} orders "
        f"{c['retries_by_reason']}; errors {len(c['errors'])}; "
        f"longest answer {c['longest_answer_s']} s, max lag {c['max_lag_s']} s",
        f"emails        {e['emails']} ({e['distinct_message_ids']} Message-IDs); "
        f"per order {e['emails_per_order']}",
        f"seller        {r['requests']} requests for {r['deliveries_seen']} "
        f"deliveries, {r['repeats']} repeats; per delivery "
        f"{r['requests_per_delivery']}; unverified {r['requests_unverified']}",
        f"logs          {figures['logs']}",
    ]


def _kills(figures: dict) -> list[str]:
    lines = ["faults (second of the load, back after):"]
    lines += [
        f"  {e['second']:>6.1f} s  {e['kind']:<5} {e['target']:<13} "
        f"back after {e['back_after_s']:.1f} s {e['detail'] or ''}"
        for e in figures["events"]
    ]
    lines += _integrity(figures)
    interrupted = figures["interrupted_attempts"]
    lines.append(
        f"interrupted   {interrupted['attempts']} attempts "
        f"({interrupted['deliveries_with_lost_claims']} deliveries with a lost claim)"
    )
    for name, title in (("path", "path overlaps a fault"), ("placed", "placed in")):
        lines.append(f"order → email (s), kill windows by {title}:")
        for group, values in figures["latency_s"][name].items():
            lines.append(f"  {group:<16} {_fmt(values)}")
    lines += _late(figures["attempt_lateness_s"])
    last = figures["last_due_to_email"]
    lines.append(f"last due → email (s): {_fmt(last)}")
    lines.append(
        f"  the same, a lost claim's retry counted from the lost claim: "
        f"{_fmt(last['from_lost_claims'])}"
    )
    for story in last["over_bound"]:
        lines.append(f"  over 30 s: {story}")
    return lines


def _late(late: dict) -> list[str]:
    lines = [
        f"attempt late  (started - due, s) {_fmt(late)}; {len(late['late'])} over 5 s:"
    ]
    return lines + [
        f"  {item['delivery_id']} {item['product']:<6} #{item['number']} due "
        f"{item['due_s']:>6.1f} s, +{item['late_s']:.1f} s"
        + (" (first message, never deferred)" if item["never_deferred"] else "")
        for item in late["late"]
    ]


def _burst(figures: dict) -> list[str]:
    lines = [f"order → email (s) {_fmt(figures['latency_s'])}"]
    return lines + _late(figures["attempt_lateness_s"]) + _integrity(figures)


def _hang(figures: dict) -> list[str]:
    circuit, held = figures["circuit"], figures["held"]
    lines = [
        f"hang          from {figures['hang']['from']} s until "
        f"{figures['hang']['until']} s (the recovery)",
        f"circuit       opened at {circuit['opened_s']} s, closed at "
        f"{circuit['closed_s']} s; {circuit['requests_unanswered']} requests "
        f"unanswered; {circuit['probes']} probes at {circuit['probes_s']} s",
        f"attempts      {figures['attempts_by_kind']}",
        f"held          {held['deliveries']} deliveries; recovery → success (s): "
        f"{_fmt(held['recovery_to_success_s'])}",
    ]
    lines += [f"  slowest: {slow}" for slow in held["slowest"][:3]]
    past = held["waited_past_close"]
    lines.append(f"  {len(past)} held deliveries not released when the circuit closed")
    lines += [f"    {item}" for item in past[:3]]
    lines.append(
        f"steady (s)    during the hang {_fmt(figures['steady_s']['during_hang'])}"
    )
    lines.append(f"              all            {_fmt(figures['steady_s']['all'])}")
    return lines + _integrity(figures)


def run_text(result: dict) -> str:
    header = f"== {result['name']} ({result['scenario']}), {result['seconds']} s"
    if "figures" not in result:
        return f"{header}\nFAIL  the run did not finish:\n{result.get('error')}"
    figures = result["figures"]
    body = {"kills": _kills, "hang": _hang, "burst": _burst}[result["scenario"]](
        figures
    )
    checks = [
        f"{check['verdict']}  {check['name']}: {check['figure']}"
        for check in figures["checks"]
    ]
    return "\n".join([header, *body, *checks])


def summary_text(summary: dict) -> str:
    tail = ["deviations from a production deployment:"]
    tail += [f"  {key}: {why}" for key, why in summary["deviations"].items()]
    if summary["deploy_warnings"]:
        tail.append(f"check --deploy: {summary['deploy_warnings']}")
    verdict = "PASS" if summary["passed"] else "FAIL"
    tail.append(f"{verdict}: every must-show bound of every run")
    runs = [run_text(result) for result in summary["runs"]]
    return "\n\n".join([*runs, "\n".join(tail)])
