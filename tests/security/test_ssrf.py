"""Server-side request forgery: URLs that must never reach a private address.

Every case goes through `transport.send`, the seam real deliveries use. A real
seller server listens on 127.0.0.1; every connection the transport attempts is
recorded, and only the one allowed server (the redirect case) is really
dialled. A case passes when the send is refused with a reason naming the
problem and the server logged no request it should not have.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest
from django.urls import reverse

from fulfillment.outcome import judge
from lib import transport, urlpolicy
from lib.transport import OutboundRequest, send
from tests.conftest import FAKE_PUBLIC_IP
from tests.httpserver import Route, seller_server_fixture  # noqa: F401


@dataclass(frozen=True)
class Case:
    url: str  # "{port}" is the seller server's port
    words: tuple[str, ...]  # in the failure message
    kind: str = "refused_url"
    # host -> one address list per lookup (the last repeats)
    dns: dict[str, list[list[str]]] = field(default_factory=dict)
    allowed: tuple[str, ...] = ()
    # Paths the seller server may log (the redirect case's own path only).
    requested: tuple[str, ...] = ()
    dialled: tuple[str, ...] = ()  # addresses the transport may connect to
    lookups: int | None = None
    slow_dns: bool = False


PRIVATE = "webhooks must go to a public address"
NUMBER = "written as a number; use a host name or a dotted IPv4"

CASES = {
    # IPv4 ranges, as literals.
    "loopback-literal": Case("http://127.0.0.1:{port}/", ("127.0.0.1", "loopback")),
    "private-10": Case("http://10.0.0.1:{port}/", ("10.0.0.1", "private network")),
    "private-172": Case("http://172.16.5.4:{port}/", ("172.16.5.4", "private")),
    "private-192": Case("http://192.168.1.1:{port}/", ("192.168.1.1", "private")),
    "link-local": Case("http://169.254.10.1:{port}/", ("169.254.10.1", "link-local")),
    "metadata-v4": Case(
        "http://169.254.169.254/latest/meta-data/",
        ("169.254.169.254", "cloud metadata"),
    ),
    "multicast": Case("http://224.0.0.1:{port}/", ("224.0.0.1", "multicast")),
    "reserved": Case("http://240.0.0.1:{port}/", ("240.0.0.1", "reserved")),
    "unspecified": Case("http://0.0.0.0:{port}/", ("0.0.0.0", "unspecified")),  # noqa: S104
    "cgnat": Case("http://100.64.0.1:{port}/", ("100.64.0.1", "carrier-grade NAT")),
    # IPv6 forms.
    "v6-loopback": Case("http://[::1]:{port}/", ("::1", "loopback")),
    "v6-unspecified": Case("http://[::]:{port}/", ("::", "unspecified")),
    "v6-unique-local": Case("http://[fd12:3456::1]:{port}/", ("fd12:3456::1", PRIVATE)),
    "v6-link-local": Case("http://[fe80::1]:{port}/", ("fe80::1", "link-local")),
    "v6-multicast": Case("http://[ff02::1]:{port}/", ("ff02::1", "multicast")),
    "metadata-v6": Case("http://[fd00:ec2::254]/", ("fd00:ec2::254", "cloud metadata")),
    "v4-mapped": Case(
        "http://[::ffff:127.0.0.1]:{port}/", ("IPv4-mapped", "127.0.0.1")
    ),
    "v4-mapped-hex": Case(
        "http://[::ffff:7f00:1]:{port}/", ("IPv4-mapped", "127.0.0.1")
    ),
    "v4-translated": Case(
        "http://[64:ff9b::10.0.0.1]:{port}/", ("NAT64", "10.0.0.1", "private network")
    ),
    "v4-translated-local-use": Case(
        "http://[64:ff9b:1::a9fe:a9fe]/", ("NAT64", "169.254.169.254", "cloud metadata")
    ),
    "6to4-loopback": Case(
        "http://[2002:7f00:1::1]:{port}/", ("6to4", "127.0.0.1", "loopback")
    ),
    "teredo": Case(
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]:{port}/", ("Teredo",)
    ),
    # Numbers that some resolvers read as 127.0.0.1.
    "decimal": Case("http://2130706433:{port}/", ("2130706433", NUMBER)),
    "octal": Case("http://0177.0.0.1:{port}/", ("0177.0.0.1", NUMBER)),
    "hex-short": Case("http://0x7f.1:{port}/", ("0x7f.1", NUMBER)),
    "hex-whole": Case("http://0x7f000001:{port}/", ("0x7f000001", NUMBER)),
    "short-dotted": Case("http://127.1:{port}/", ("127.1", NUMBER)),
    # Names whose answers are the problem.
    "localhost": Case("http://localhost:{port}/", ("127.0.0.1", "loopback")),
    "name-to-loopback": Case(
        "http://home.example.com:{port}/",
        ("127.0.0.1", "loopback"),
        dns={"home.example.com": [["127.0.0.1"]]},
    ),
    "name-to-v6-loopback": Case(
        "http://six.example.com:{port}/",
        ("::1", "loopback"),
        dns={"six.example.com": [["::1"]]},
    ),
    "one-public-one-private": Case(
        "http://mixed.example.com:{port}/",
        ("10.0.0.1", "private network"),
        dns={"mixed.example.com": [[FAKE_PUBLIC_IP, "10.0.0.1"]]},
    ),
    "name-to-metadata-despite-allowlist": Case(
        "http://meta.example.com/",
        ("169.254.169.254", "cloud metadata"),
        dns={"meta.example.com": [["169.254.169.254"]]},
        allowed=("169.254.0.0/16",),
    ),
    "slow-resolver": Case(
        "http://slow.example.com:{port}/",
        ("could not look up the host in time",),
        kind="dns",
        slow_dns=True,
    ),
    # The URL's form.
    "credentials": Case(
        "http://user:pass@127.0.0.1:{port}/", ("user name or password",)
    ),
    "ftp": Case("ftp://127.0.0.1:{port}/", ("https:// or http://",)),
    # What happens after the check.
    "redirect-to-metadata": Case(
        "http://127.0.0.1:{port}/jump",
        ("302", "169.254.169.254", "we do not follow redirects"),
        kind="redirect",
        allowed=("127.0.0.1/32",),
        requested=("/jump",),
        dialled=("127.0.0.1",),
    ),
    "rebinding-second-lookup": Case(
        "http://rebind.example.com:{port}/",
        ("could not connect",),
        kind="connect",
        dns={"rebind.example.com": [[FAKE_PUBLIC_IP], ["127.0.0.1"]]},
        dialled=(FAKE_PUBLIC_IP,),
        lookups=1,
    ),
}


@pytest.fixture
def dialled(monkeypatch, seller_server):
    """Record every connection; only the seller server is really dialled.

    Anything else is refused on the spot, so nothing leaves this machine.
    """
    targets: list[str] = []
    real_connect = transport._DeadlineSocket.connect

    def connect(sock, address):
        targets.append(address[0])
        if address[:2] == ("127.0.0.1", seller_server.port):
            return real_connect(sock, address)
        raise ConnectionRefusedError("refused by the test")

    monkeypatch.setattr(transport._DeadlineSocket, "connect", connect)
    return targets


@pytest.fixture
def scripted_dns(monkeypatch):
    """Per-case DNS answers on top of the suite's fake resolver."""
    fallback = urlpolicy.resolve_host
    lookups: list[str] = []
    release = threading.Event()

    def install(case: Case) -> None:
        script = {host: list(answers) for host, answers in case.dns.items()}

        def resolve_host(host, port):
            lookups.append(host)
            if case.slow_dns:
                release.wait(5)
            if host not in script:
                return fallback(host, port)
            answers = script[host]
            return list(answers.pop(0) if len(answers) > 1 else answers[0])

        monkeypatch.setattr(urlpolicy, "resolve_host", resolve_host)

    yield install, lookups
    release.set()


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_url_is_refused_and_nothing_reaches_the_server(
    case, seller_server, dialled, scripted_dns
):
    install, lookups = scripted_dns
    install(case)
    seller_server.set_route("/jump", Route.redirect("http://169.254.169.254/latest/"))
    request = OutboundRequest(
        method="GET", url=case.url.format(port=seller_server.port)
    )

    result = send(
        request,
        connect_timeout=1.0,
        total_timeout=0.5 if case.slow_dns else 2.0,
        max_bytes=1024,
        allowed_networks=list(case.allowed),
        require_https=False,
    )
    verdict = judge(result)

    assert (verdict.succeeded, verdict.error_kind) == (False, case.kind)
    for words in case.words:
        assert words in verdict.message
    assert [r.path for r in seller_server.requests] == list(case.requested)
    assert dialled == list(case.dialled)
    if case.lookups is not None:
        assert len(lookups) == case.lookups


def test_table_covers_at_least_25_urls():
    assert len(CASES) >= 25


def test_editor_refuses_a_url_whose_host_resolves_to_a_private_address(
    alice_client, product, monkeypatch
):
    monkeypatch.setattr(urlpolicy, "resolve_host", lambda host, port: ["10.0.0.1"])
    config = product.webhook_config
    data = {
        "url": "https://internal.example.com/issue",
        "method": config.method,
        "body_format": config.body_format,
        "instructions": config.instructions,
        "custom_fields-TOTAL_FORMS": "0",
        "custom_fields-INITIAL_FORMS": "0",
    }

    response = alice_client.post(
        reverse("fulfillment:config-edit", args=[product.pk]), data
    )

    assert response.context["form"].errors["url"] == [
        "The address 10.0.0.1 is in a private network; webhooks must go to a "
        "public address."
    ]
    config.refresh_from_db()
    assert config.url != "https://internal.example.com/issue"


def test_alerts_page_refuses_a_url_whose_host_resolves_to_a_private_address(
    alice_client, alice, monkeypatch
):
    monkeypatch.setattr(urlpolicy, "resolve_host", lambda host, port: ["10.0.0.1"])

    response = alice_client.post(
        reverse("alerts:edit"),
        {"url": "https://internal.example.com/alerts", "events": ["order.completed"]},
    )

    assert response.context["form"].errors["url"] == [
        "The address 10.0.0.1 is in a private network; webhooks must go to a "
        "public address."
    ]


def test_an_alert_to_a_private_address_is_refused_at_send(alice, seller_server):
    """Saved while the host was public, it resolves to loopback at send time
    (DNS rebinding): the alert fails for good and the server hears nothing."""
    from django.db import transaction

    from fulfillment.services.alert_engine import alert_attempt
    from fulfillment.services.alerts import (
        alert_emit,
        alert_endpoint_get_or_create,
        alert_endpoint_save,
    )

    endpoint = alert_endpoint_get_or_create(seller_id=alice.pk)
    url = seller_server.url("/alerts")  # 127.0.0.1, no private network allowed
    alert_endpoint_save(endpoint=endpoint, url=url, events=["order.completed"])
    with transaction.atomic():
        alert_id = alert_emit(
            seller_id=alice.pk, type="order.completed", subject="order:1", data={}
        )

    alert = alert_attempt(alert_id=alert_id)

    assert alert is not None and alert.status == "failed"
    assert "webhooks must go to a public address" in alert.last_error
    assert seller_server.requests == []
