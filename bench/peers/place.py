"""The process that sets up a Django peer's database or places its orders.

    python -m bench.peers.place conventional --setup --catalog FILE [--hmac ...]
    python -m bench.peers.place djwebhook --count 3000 --threads 4 --tag b1

Placing follows bench/peers/protocol.py: ready, go, the result, wait. Orders go
round-robin over the products, from `--threads` threads, as ours are placed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import time
from pathlib import Path

from bench.peers import protocol


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("peer", choices=["conventional", "djwebhook"])
    parser.add_argument("--setup", action="store_true", help="migrate and seed")
    parser.add_argument("--catalog", type=Path, help="the products (JSON)")
    parser.add_argument("--webhook-url", help="djwebhook: where its webhook posts")
    parser.add_argument("--webhook-secret", help="djwebhook: the webhook's secret")
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--tag", default="peer")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ["DJANGO_SETTINGS_MODULE"] = f"bench.peers.{args.peer}.settings"
    import django

    django.setup()
    peer = importlib.import_module(f"bench.peers.{args.peer}.peer")
    catalog = json.loads(args.catalog.read_text()) if args.catalog else []
    if args.setup:
        peer.setup(args, catalog)
        return
    products = peer.products(catalog)
    protocol.say({"ready": True})
    protocol.wait_go()
    protocol.say(_place(peer, products, args))
    protocol.wait_end()


def _place(peer, products: list, args: argparse.Namespace) -> dict:
    from django.db import connection

    def work(i: int) -> None:
        email = f"c{i}@{args.tag}.bench.example"
        peer.place(product=products[i % len(products)], customer_email=email)

    started = time.time()
    errors = protocol.work_split(
        work, count=args.count, threads=args.threads, done=connection.close
    )
    return {
        "started_at": started,
        "seconds": round(time.time() - started, 2),
        "orders": args.count,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


if __name__ == "__main__":
    main()
