"""apprise sends under the same address rules as webhooks: each connection it opens
resolves the host once (an injected resolver here), every address is judged, and the
connection goes to the address judged. Only loopback listeners are ever contacted, and
nothing of the URL reaches the log or `last_error`."""

from __future__ import annotations

import logging

import pytest

from tests.fixtures.apprise_receiver import AppriseReceiver
from tests.fixtures.local_http import closed_port
from tests.integration.alerts.test_webhook_guard import Resolver
from tickhub.alerts.notifiers import AddressPolicy, AppriseNotifier, ChannelKeys, Outcome

KEYS = ChannelKeys(b"apprise-guard-test-server-key-0123456789")
PASSWORD = "pw-never-shown-9f3c"


async def send(url: str, resolver: Resolver, allow: list[str] | None = None) -> Outcome:
    notifier = AppriseNotifier(
        KEYS, timeout_s=5, policy=AddressPolicy(allow or []), resolver=resolver
    )
    try:
        return await notifier.send(
            sealed=KEYS.seal(url), title="tickhub alert: test", body="Close: 105"
        )
    finally:
        notifier.close()


async def test_a_name_resolving_to_loopback_is_refused_and_never_contacted() -> None:
    receiver = AppriseReceiver()
    async with receiver.serving() as port:
        resolver = Resolver({"hook.example": [["127.0.0.1"]]})
        outcome = await send(f"json://hook.example:{port}/in", resolver)
    assert outcome.kind == "failed"
    assert outcome.error == "refused: the host resolves to an address that is not public"
    assert receiver.received == []
    assert resolver.calls == [("hook.example", port)]


async def test_one_private_address_among_public_ones_refuses_the_attempt() -> None:
    receiver = AppriseReceiver()
    async with receiver.serving() as port:
        resolver = Resolver({"mixed.example": [["93.184.216.34", "10.0.0.7"]]})
        outcome = await send(f"json://mixed.example:{port}/in", resolver)
    assert outcome.kind == "failed"
    assert receiver.received == []


async def test_an_allowed_host_is_reached_at_its_address_with_its_own_name() -> None:
    receiver = AppriseReceiver()
    async with receiver.serving() as port:
        resolver = Resolver({"alerts.internal": [["127.0.0.1"]]})
        outcome = await send(
            f"json://bot:{PASSWORD}@alerts.internal:{port}/in", resolver, ["alerts.internal"]
        )
    assert outcome == Outcome.sent(None)
    (got,) = receiver.received
    assert got.path == "/in"
    assert got.headers["host"] == f"alerts.internal:{port}"
    assert got.json()["title"] == "tickhub alert: test"
    assert got.json()["message"] == "Close: 105"


async def test_the_checked_address_is_pinned_so_rebinding_fails() -> None:
    """The first answer is an allowed address, every later one loopback: the request goes
    to the address judged (the system's resolver knows no `rebind.example`)."""
    allowed, elsewhere = AppriseReceiver(), AppriseReceiver()
    async with allowed.serving("127.0.0.2") as port, elsewhere.serving():
        resolver = Resolver({"rebind.example": [["127.0.0.2"], ["127.0.0.1"]]})
        url = f"json://rebind.example:{port}/in"
        assert await send(url, resolver, ["127.0.0.2"]) == Outcome.sent(None)
        assert len(resolver.calls) == 1
        again = await send(url, resolver, ["127.0.0.2"])
    assert again.kind == "failed"
    assert len(allowed.received) == 1
    assert elsewhere.received == []


async def test_a_redirect_to_an_address_that_is_not_allowed_is_refused_too() -> None:
    """apprise follows redirects by itself: the guard judges that connection as well."""
    first, inside = AppriseReceiver(), AppriseReceiver()
    async with first.serving() as port, inside.serving("127.0.0.2") as inside_port:
        first.then((307, {"location": f"http://inside.internal:{inside_port}/admin"}))
        resolver = Resolver({"hooks.internal": [["127.0.0.1"]], "inside.internal": [["127.0.0.2"]]})
        outcome = await send(f"json://hooks.internal:{port}/in", resolver, ["hooks.internal"])
    assert outcome.kind == "failed"
    assert outcome.error == "refused: the host resolves to an address that is not public"
    assert len(first.received) == 1
    assert inside.received == []
    assert ("inside.internal", inside_port) in resolver.calls


async def test_ntfy_to_an_own_server_is_guarded_too() -> None:
    receiver = AppriseReceiver()
    async with receiver.serving() as port:
        refused = await send(
            f"ntfy://ntfy.internal:{port}/alerts", Resolver({"ntfy.internal": [["127.0.0.1"]]})
        )
        allowed = await send(
            f"ntfy://ntfy.internal:{port}/alerts",
            Resolver({"ntfy.internal": [["127.0.0.1"]]}),
            ["ntfy.internal"],
        )
    assert refused.kind == "failed"
    assert allowed == Outcome.sent(None)
    (got,) = receiver.received
    assert got.json()["topic"] == "alerts"
    assert got.json()["message"] == "Close: 105"


async def test_last_error_is_a_category_never_the_answer_or_the_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver = AppriseReceiver()
    receiver.then(503, 404)
    allow = ["127.0.0.1"]
    resolver = Resolver({"127.0.0.1": [["127.0.0.1"]]})
    async with receiver.serving() as port:
        url = f"json://bot:{PASSWORD}@127.0.0.1:{port}/in"
        busy = await send(url, resolver, allow)
        missing = await send(url, resolver, allow)
    assert (busy.kind, busy.status, busy.error) == ("retry", 503, "HTTP 503 Service Unavailable")
    assert (missing.kind, missing.error) == ("failed", "HTTP 404 Not Found")
    refused = await send(f"json://bot:{PASSWORD}@127.0.0.1:{closed_port()}/", resolver, allow)
    assert (refused.kind, refused.error) == ("retry", "connection refused")
    unknown = await send("json://nowhere.example/", resolver, allow)
    assert (unknown.kind, unknown.error) == ("retry", "host not found")
    assert PASSWORD not in caplog.text
    assert "/in" not in caplog.text


async def test_a_url_sealed_with_another_key_fails_with_a_category() -> None:
    notifier = AppriseNotifier(KEYS, timeout_s=5)
    other = ChannelKeys(b"another-server-key-entirely-0123456789")
    try:
        outcome = await notifier.send(sealed=other.seal("ntfy://topic"), title="t", body="b")
    finally:
        notifier.close()
    assert outcome.kind == "failed"
    assert outcome.error is not None and "decrypt" in outcome.error
