"""A webhook cannot reach inside the network: the host is resolved once per attempt
(by an injected resolver here), every address is judged, and the connection goes to
the address that was judged. Only loopback listeners are ever contacted."""

from __future__ import annotations

import httpx

from tests.fixtures.local_http import closed_port
from tests.fixtures.webhook_receiver import Reply, WebhookReceiver
from tickhub.alerts.notifiers import AddressPolicy, Outcome, WebhookNotifier
from tickhub.common.time import utc_now

SECRET = "guard-webhook-signing-secret"


class Resolver:
    """Answers from a table, one answer after another per host; counts the lookups."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self._answers = answers
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        answers = self._answers.get(host)
        if not answers:
            raise OSError(f"no such host {host}")
        return answers.pop(0) if len(answers) > 1 else answers[0]


async def post(url: str, resolver: Resolver, allow: list[str] | None = None) -> Outcome:
    async with httpx.AsyncClient() as client:
        notifier = WebhookNotifier(
            client, timeout_s=5, policy=AddressPolicy(allow or []), resolver=resolver
        )
        return await notifier.send(
            url=url, secret=SECRET, body=b'{"alert": 1}', delivery_id=7, now=utc_now()
        )


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


async def test_a_name_resolving_to_loopback_is_refused_and_never_contacted() -> None:
    receiver = WebhookReceiver(SECRET)
    async with receiver.serving() as base:
        resolver = Resolver({"hook.example": [["127.0.0.1"]]})
        outcome = await post(f"http://hook.example:{port_of(base)}/in", resolver)
    assert outcome.kind == "failed"
    assert outcome.error is not None and "not public" in outcome.error
    assert "127.0.0.1" not in outcome.error
    assert receiver.received == []
    assert resolver.calls == [("hook.example", port_of(base))]


async def test_one_private_address_among_public_ones_refuses_the_attempt() -> None:
    receiver = WebhookReceiver(SECRET)
    async with receiver.serving() as base:
        resolver = Resolver({"mixed.example": [["93.184.216.34", "127.0.0.1"]]})
        outcome = await post(f"http://mixed.example:{port_of(base)}/in", resolver)
    assert outcome.kind == "failed"
    assert receiver.received == []


async def test_an_allowed_host_is_reached_at_its_address_with_its_own_name() -> None:
    receiver = WebhookReceiver(SECRET)
    async with receiver.serving() as base:
        port = port_of(base)
        resolver = Resolver({"hooks.internal": [["127.0.0.1"]]})
        outcome = await post(f"http://hooks.internal:{port}/in", resolver, ["hooks.internal"])
    assert outcome == Outcome.sent(200)
    (got,) = receiver.received
    assert got.signature_ok
    assert got.headers["host"] == f"hooks.internal:{port}"


async def test_the_checked_address_is_pinned_so_rebinding_fails() -> None:
    """The first answer is an allowed address, every later one loopback: the request
    goes to the first, looked up once."""
    allowed, elsewhere = WebhookReceiver(SECRET), WebhookReceiver(SECRET)
    async with allowed.serving("127.0.0.2") as base, elsewhere.serving():
        port = port_of(base)
        resolver = Resolver({"rebind.example": [["127.0.0.2"], ["127.0.0.1"]]})
        outcome = await post(f"http://rebind.example:{port}/in", resolver, ["127.0.0.2"])
        assert outcome == Outcome.sent(200)
        assert len(resolver.calls) == 1
        again = await post(f"http://rebind.example:{port}/in", resolver, ["127.0.0.2"])
    assert again.kind == "failed"  # the second lookup answered loopback: refused
    assert len(allowed.received) == 1
    assert allowed.received[0].headers["host"] == f"rebind.example:{port}"
    assert elsewhere.received == []


async def test_literal_addresses_and_credentials_are_refused_without_a_lookup() -> None:
    resolver = Resolver({})
    for url in (
        "http://169.254.169.254/latest/meta-data/",
        f"http://127.0.0.1:{closed_port()}/",
        "http://0x7f000001/",
        "http://[::1]:8000/",
        "http://user:pw@rabbitmq:15672/api/",
    ):
        outcome = await post(url, resolver)
        assert outcome.kind == "failed", url
    assert resolver.calls == []


async def test_last_error_is_a_category_never_the_answer() -> None:
    receiver = WebhookReceiver(SECRET)
    receiver.then(Reply(503, body=b"db password is hunter2"), Reply(404, body=b"internal"))
    allow = ["127.0.0.1"]
    async with receiver.serving() as base:
        resolver = Resolver({"127.0.0.1": [["127.0.0.1"]]})
        busy = await post(f"{base}/in", resolver, allow)
        missing = await post(f"{base}/in", resolver, allow)
    assert (busy.kind, busy.status, busy.error) == ("retry", 503, "HTTP 503 Service Unavailable")
    assert (missing.kind, missing.error) == ("failed", "HTTP 404 Not Found")
    refused = await post(f"http://127.0.0.1:{closed_port()}/", resolver, allow)
    assert (refused.kind, refused.error) == ("retry", "connection refused")
    unknown = await post("http://nowhere.example/", resolver, allow)
    assert (unknown.kind, unknown.error) == ("retry", "host not found")
