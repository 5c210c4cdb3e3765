"""One run of a scenario, from a clean slate: the database dropped, created and
migrated, the broker's Redis database flushed, static files collected, the
deployment checked, and every process stopped at the end whatever happens."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connections

from bench.chaos.catalogue import Catalogue, ProductSpec, catalogue_create
from bench.chaos.clients import OrderPlan, OrderSent, orders_send
from bench.chaos.deploy import (
    Deployment,
    Seller,
    database_url,
    production_env,
    redis_url,
    release,
)
from bench.chaos.tls import TlsFiles
from bench.stack import Stack, broker_flush, database_recreate, services_check


@dataclass
class Run:
    name: str  # also the prefix of its orders' transaction ids
    folder: Path
    tls: TlsFiles
    stack: Stack
    deployment: Deployment
    versions: dict[str, str]
    deploy_warnings: list[str] = field(default_factory=list)

    @property
    def logs(self) -> Path:
        return self.folder / "logs"

    @property
    def mail(self) -> Path:
        return self.folder / "mail"

    def one_seller_start(
        self, specs: tuple[ProductSpec, ...]
    ) -> tuple[Seller, Catalogue]:
        """One sellers' server for every product of `specs`, the products and
        the API token, then the deployment's processes."""
        seller = Seller(self.stack, self.tls)
        catalogue = catalogue_create(specs, {"main": seller})
        self.deployment.start()
        return seller, catalogue

    def orders_send(
        self, catalogue: Catalogue, plans: list[OrderPlan], *, t0: float, clients: int
    ) -> list[OrderSent]:
        """The provider's load on this run's gunicorn (bench/chaos/clients.py)."""
        return orders_send(
            base_url=self.deployment.base_url,
            token=catalogue.token,
            plans=plans,
            t0=t0,
            clients=clients,
        )

    def log(self, message: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        print(f"[chaos {stamp} {self.name}] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def run_prepared(
    name: str, *, root: Path, tls: TlsFiles, keys: dict[str, str]
) -> Iterator[Run]:
    folder = root / name
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    env = production_env(folder=folder, tls=tls, keys=keys)
    versions = services_check(database_url(), redis_url())
    # The driver's own connections would be cut by the drop.
    connections.close_all()
    database_recreate(database_url())
    broker_flush(redis_url())
    warnings = release(env, folder / "logs")
    with Stack(log_dir=folder / "logs", env=env) as stack:
        yield Run(name, folder, tls, stack, Deployment(stack), versions, warnings)
    connections.close_all()
