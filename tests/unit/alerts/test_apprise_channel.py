"""The apprise channel's pure parts: sealing and naming URLs with keys derived from the
server's key, reading a URL offline (which services pass, which are refused, which need
the recipient's confirmation), and the list of services matching the installed apprise."""

from __future__ import annotations

import importlib
import inspect

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickhub.alerts.notifiers import AddressPolicy, ChannelKeys, apprise_channel
from tickhub.alerts.notifiers._apprise_services import (
    ALLOWED,
    HOSTED,
    PERSONAL,
    USER_HOST,
    read_url,
)
from tickhub.alerts.notifiers._sealed import Unreadable
from tickhub.common import errors

MASTER = b"unit-test-server-key-0123456789abcdef"
URL = "twilio://AC0123456789abcdef0123456789abcdef:tok3n0123456789abcdef0123456789@15551234567/15557654321"


def test_a_sealed_url_opens_with_the_same_key_only_and_shows_nothing() -> None:
    keys = ChannelKeys(MASTER)
    sealed = keys.seal(URL)
    assert keys.open(sealed) == URL
    assert "tok3n" not in sealed and "15557654321" not in sealed
    assert keys.seal(URL) != sealed  # a fresh IV each time
    with pytest.raises(Unreadable):
        ChannelKeys(b"another-server-key-0123456789abcdef").open(sealed)
    with pytest.raises(Unreadable):
        keys.open(sealed[:-4] + "AAAA")


def test_the_id_is_stable_keyed_and_not_the_raw_key_hmac() -> None:
    keys = ChannelKeys(MASTER)
    assert keys.name(URL) == ChannelKeys(MASTER).name(URL)
    assert len(keys.name(URL)) == 16
    assert keys.name(URL) != keys.name(URL + "x")
    assert keys.name(URL) != ChannelKeys(b"another-server-key-0123456789abcdef").name(URL)


@pytest.mark.parametrize(
    ("url", "service", "scheme", "personal"),
    [
        ("json://hooks.example.com/in", "custom_json", "json", False),
        ("jsons://user:pw@hooks.example.com:8443/in", "custom_json", "jsons", False),
        ("ntfy://my-alerts", "ntfy", "ntfy", False),
        ("ntfys://ntfy.example.com/alerts", "ntfy", "ntfys", False),
        ("https://discord.com/api/webhooks/1234567/abcdefghijkl", "discord", "discord", False),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ", "slack", "slack", False),
        ("pover://userkey0123456789@apptoken0123456789", "pushover", "pover", False),
        ("matrix://user:pw@matrix.example.org/#room", "matrix.base", "matrix", False),
        ("gotify://gotify.example.com/token", "gotify", "gotify", False),
        (URL, "twilio", "twilio", True),
        ("whatsapp://token@1234567/15551234567", "whatsapp", "whatsapp", True),
        ("signal://signal.example.com/+15551234567/+15557654321", "signal_api", "signal", True),
    ],
)
def test_urls_of_guarded_services_are_read_offline(
    url: str, service: str, scheme: str, personal: bool
) -> None:
    read = read_url(url, AddressPolicy())
    assert (read.service, read.scheme, read.personal) == (service, scheme, personal)
    assert len(read.masked_host) <= 3


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("nosuchservice://token", "not a URL apprise can use"),
        ("twilio://too-short", "not a URL apprise can use"),
        ("mailto://user:pw@gmail.com", "does not send to"),
        ("rsyslog://10.0.0.1", "does not send to"),
        ("mqtt://broker.example.com/topic", "not a URL apprise can use"),  # not installed
        ("ircs://bot@irc.example.com/#alerts", "does not send to"),
        ("json://127.0.0.1:5432/", "loopback"),
        ("json://10.1.2.3/in", "private"),
        ("xml://169.254.169.254/latest", "link-local"),
        ("form://0x7f000001/", "loopback"),
        ("ntfy://[::1]:8000/alerts", "loopback"),
        ("json://host.example.com/ in", "spaces"),
    ],
)
def test_refused_urls_say_why_without_quoting_them(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=words) as caught:
        read_url(url, AddressPolicy())
    assert "pw" not in str(caught.value) and "0x7f" not in str(caught.value)


def test_the_operator_allow_list_admits_a_literal_internal_host() -> None:
    assert read_url("json://10.1.2.3/in", AddressPolicy(["10.1.0.0/16"])).service == "custom_json"
    assert read_url("json://127.0.0.1:9/in", AddressPolicy(["127.0.0.1"])).host == "127.0.0.1"


def test_a_stored_channel_holds_the_url_sealed_and_shows_a_masked_host() -> None:
    keys = ChannelKeys(MASTER)
    stored = apprise_channel(
        url=URL,
        channel_id=None,
        previous=[],
        field="channels.0.apprise",
        policy=AddressPolicy(),
        keys=keys,
    )
    assert set(stored) == {"type", "id", "scheme", "host", "proof", "sealed"}
    assert (stored["type"], stored["scheme"], stored["proof"]) == ("apprise", "twilio", True)
    assert stored["host"] == "15…"  # apprise reads the sender's number as the host
    assert keys.open(stored["sealed"]) == URL
    assert stored["id"] == keys.name(URL)
    again = apprise_channel(
        url=None,
        channel_id=stored["id"],
        previous=[stored],
        field="f",
        policy=AddressPolicy(),
        keys=keys,
    )
    assert again == stored
    with pytest.raises(errors.Unprocessable) as caught:
        apprise_channel(
            url="json://10.0.0.1/", channel_id=None, previous=[], field="channels.2.apprise",
            policy=AddressPolicy(), keys=keys,
        )  # fmt: skip
    assert caught.value.field == "channels.2.apprise.url"


def test_every_listed_service_is_an_installed_apprise_plugin_speaking_http() -> None:
    """A newer apprise that renames or rewrites a plugin shows up here."""
    assert not (USER_HOST & HOSTED) and not (HOSTED & PERSONAL)
    for service in sorted(ALLOWED):
        module = importlib.import_module(f"apprise.plugins.{service}")
        assert "requests." in inspect.getsource(module), service


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200),
        st.builds(
            lambda scheme, rest: f"{scheme}://{rest}",
            st.sampled_from(["json", "ntfy", "twilio", "signal", "slack", "mailto", "x"]),
            st.text(max_size=120),
        ),
    )
)
def test_any_text_is_read_or_refused_with_a_value_error(url: str) -> None:
    """What a user may send never raises anything else (the API answers a 422)."""
    try:
        read = read_url(url, AddressPolicy())
    except ValueError:
        return
    assert read.service in ALLOWED
