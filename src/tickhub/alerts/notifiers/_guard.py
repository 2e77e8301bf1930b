"""Where a notifier may connect: never inside the network it runs in.

A webhook URL is the user's, so it must not reach the host's own services or the
private network (a database port, a cloud metadata address, a broker's admin API).
Every attempt resolves the host once, refuses the whole attempt when an address is
loopback, private, link-local, multicast, unspecified or otherwise not public, and then
connects to the address it checked (the answer is pinned, so a second lookup cannot
turn into `127.0.0.1`: DNS rebinding fails). A literal address in those ranges is
refused already when the channel is saved, and so are credentials in a URL.

`TICKHUB_NOTIFY_ALLOW_HOSTS` lets an operator allow some internal receivers: host
names (matched exactly, case-insensitive), addresses or networks (`10.1.2.3`,
`10.1.0.0/16`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""`(host, port)` → the addresses the host resolves to (raises `OSError` if none)."""

# Forms `inet_aton` reads as IPv4 besides dotted quads: `0x7f000001`, `2130706433`,
# `127.1`, `0177.0.0.1`.
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


async def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's answer (`getaddrinfo`), each address once, in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    addresses: list[str] = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def blocked_range(ip: IpAddress) -> str | None:
    """The kind of non-public range `ip` is in (`loopback`, `private`, ...), or None for
    a public address. An IPv4 address written as IPv6 (`::ffff:127.0.0.1`) is judged as
    the IPv4 address it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved or not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def literal_address(host: str) -> IpAddress | None:
    """The address `host` spells, in any form a resolver would accept, else None."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


class AddressPolicy:
    """Which addresses a notifier may reach: public ones, and the operator's list."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self._hosts: set[str] = set()
        self._networks: list[IpNetwork] = []
        for entry in (e.strip().lower() for e in allow):
            if not entry:
                continue
            try:
                self._networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                self._hosts.add(entry.rstrip("."))

    def host_allowed(self, host: str) -> bool:
        return host.lower().strip("[]").rstrip(".") in self._hosts

    def refusal(self, host: str, address: str) -> str | None:
        """Why connecting to `address` (which `host` resolved to) is refused, or None."""
        if self.host_allowed(host):
            return None
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone
        except ValueError:
            return "not an address"
        if any(ip in net for net in self._networks):
            return None
        return blocked_range(ip)

    def url_problem(self, url: str) -> str | None:
        """What makes `url` unacceptable before any lookup: credentials, or a literal
        address that is not public (and not allowed); None when it may be saved."""
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None:
            return "must not contain credentials (user:password@)"
        host = parts.hostname or ""
        ip = literal_address(host)
        if ip is None or self.host_allowed(host):
            return None
        kind = self.refusal(host, str(ip))
        if kind is None:
            return None
        return f"must not point at a {kind} address; use a public host name or address"
