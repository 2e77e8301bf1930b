"""The address guard for apprise, which makes its own HTTP calls (`requests`, over
`urllib3`) in a worker thread.

apprise resolves and connects by itself, so the guard sits where `urllib3` opens a
connection (`urllib3.util.connection.create_connection`, replaced once by
`install()`): in a thread running a delivery (inside `guarding()`), every connection,
to whichever host the service talks to, redirects included, first resolves the host
(with the worker's resolver), refuses the whole attempt if an address is not public
(and not allowed by `TICKHUB_NOTIFY_ALLOW_HOSTS`), and connects to the address it
judged: the answer is pinned, so DNS rebinding fails. The URL's host name still goes
in the `Host` header and the TLS server name. Threads outside `guarding()` connect as
before.

Nothing apprise or urllib3 says about a delivery is logged (their messages quote URLs,
which hold secrets): the `apprise` logger keeps its records for the delivery that
raised them (to read an HTTP status from), and urllib3's records from a delivery's
thread are dropped.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import urllib3.util.connection as urllib3_connection

from tickhub.alerts.notifiers._guard import AddressPolicy

SyncResolver = Callable[[str, int], list[str]]
"""`(host, port)` → addresses, called in the delivery's thread."""

_STATUS = re.compile(r"error=(\d{3})\b")
_state = threading.local()
_install_lock = threading.Lock()
_original_create_connection: Any = None


class AddressRefused(OSError):
    """The guard refused to connect (urllib3 reports it as a failed connection)."""


@dataclass
class Attempt:
    """What one delivery's connections met, for a short error category."""

    policy: AddressPolicy
    resolve: SyncResolver
    refused: bool = False
    unresolved: bool = False
    connect_error: str | None = None
    statuses: list[int] = field(default_factory=list)
    connections: int = 0


def current() -> Attempt | None:
    attempt: Attempt | None = getattr(_state, "attempt", None)
    return attempt


@contextmanager
def guarding(attempt: Attempt) -> Iterator[Attempt]:
    """Guard every connection this thread opens until the block ends."""
    _state.attempt = attempt
    try:
        yield attempt
    finally:
        _state.attempt = None


def _guarded_create_connection(
    address: tuple[str, int], *args: Any, **kwargs: Any
) -> socket.socket:
    attempt = current()
    if attempt is None:
        return _original_create_connection(address, *args, **kwargs)  # type: ignore[no-any-return]
    host, port = address
    host = host.strip("[]")
    try:
        addresses = attempt.resolve(host, port)
    except (OSError, UnicodeError, TimeoutError) as exc:
        attempt.unresolved = True
        raise AddressRefused("host not found") from exc
    if not addresses or any(attempt.policy.refusal(host, a) is not None for a in addresses):
        attempt.unresolved = attempt.unresolved or not addresses
        attempt.refused = bool(addresses)
        raise AddressRefused("the host resolves to an address that is not public")
    attempt.connections += 1
    pinned = addresses[0].split("%", 1)[0]
    try:
        return _original_create_connection((pinned, port), *args, **kwargs)  # type: ignore[no-any-return]
    except ConnectionRefusedError:
        attempt.connect_error = "connection refused"
        raise
    except TimeoutError:
        attempt.connect_error = "timeout"
        raise
    except OSError:
        attempt.connect_error = "connection failed"
        raise


class _KeepForAttempt(logging.Handler):
    """Gives the `apprise` logger's records to the delivery that raised them: an HTTP
    status is read from its warnings; nothing is written anywhere."""

    def emit(self, record: logging.LogRecord) -> None:
        attempt = current()
        if attempt is None or record.levelno < logging.WARNING:
            return
        try:
            found = _STATUS.search(record.getMessage())
        except Exception:  # a malformed record says nothing we need
            return
        if found:
            attempt.statuses.append(int(found.group(1)))


class _DropDeliveryRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:  # noqa: ARG002 - by thread
        return current() is None


def install() -> None:
    """Put the guard in urllib3's connection path and keep apprise's log private;
    idempotent, thread-safe."""
    global _original_create_connection
    with _install_lock:
        if _original_create_connection is not None:
            return
        _original_create_connection = urllib3_connection.create_connection
        urllib3_connection.create_connection = _guarded_create_connection
        quiet = logging.getLogger("apprise")
        quiet.propagate = False
        quiet.setLevel(logging.WARNING)  # its debug lines (with URLs) are never built
        quiet.handlers = [_KeepForAttempt()]
        for name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry"):
            logging.getLogger(name).addFilter(_DropDeliveryRecords())
