"""Which addresses a webhook may reach (no network here: the rules alone)."""

from __future__ import annotations

import ipaddress

import pytest

from tickhub.alerts.notifiers import AddressPolicy
from tickhub.alerts.notifiers._guard import blocked_range, literal_address


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "private"),  # "reserved for future use"; Python files it as private
        ("100.64.0.1", "reserved"),  # carrier-grade NAT: not public
        ("192.0.2.10", "private"),  # documentation range
        ("93.184.216.34", None),
        ("2606:2800:220:1:248:1893:25c8:1946", None),
    ],
)
def test_every_non_public_range_is_named(address: str, kind: str | None) -> None:
    assert blocked_range(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::ffff:a9fe:a9fe", "::ffff:169.254.169.254"),
        ("example.com", None),
        ("face.b00c", None),
        ("rabbitmq", None),
    ],
)
def test_a_literal_address_is_read_in_every_spelling(host: str, address: str | None) -> None:
    got = literal_address(host)
    assert got == (None if address is None else ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:5432/",
        "http://0x7f000001/",
        "http://[::1]:8000/",
        "http://user:pw@rabbitmq:15672/api/",
        "http://[::ffff:127.0.0.1]/",
        "https://10.0.0.8/hook",
    ],
)
def test_the_urls_of_the_report_are_refused_before_saving(url: str) -> None:
    assert AddressPolicy().url_problem(url) is not None


def test_public_and_named_hosts_pass_the_save_check() -> None:
    policy = AddressPolicy()
    assert policy.url_problem("https://hooks.example.com/x") is None
    assert policy.url_problem("http://93.184.216.34:8080/x") is None
    # a name is judged at connect time, where its addresses are known
    assert policy.url_problem("http://rabbitmq:15672/") is None


def test_the_operator_allows_hosts_addresses_and_networks() -> None:
    policy = AddressPolicy(["Hooks.Internal", "10.1.0.0/16", "127.0.0.2", ""])
    assert policy.refusal("hooks.internal", "127.0.0.1") is None
    assert policy.refusal("HOOKS.internal.", "10.9.9.9") is None
    assert policy.refusal("other", "10.1.200.3") is None
    assert policy.refusal("other", "127.0.0.2") is None
    assert policy.refusal("other", "10.2.0.1") == "private"
    assert policy.refusal("other", "127.0.0.1") == "loopback"
    assert policy.url_problem("http://10.1.2.3/x") is None
    assert policy.url_problem("http://hooks.internal/x") is None
    assert policy.url_problem("http://a:b@hooks.internal/x") is not None  # never credentials
