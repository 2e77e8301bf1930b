"""Live fan-out of market data to WebSocket clients (`/v1/stream`).

One `LiveHub` per process subscribes to the bus once, with live subscriptions (when the hub
falls behind, the bus drops the oldest messages instead of slowing the pipeline). It
encodes each event once, whatever the number of clients; who asked for it is looked up in
an index by (channel, exchange, symbol), rebuilt only when a client subscribes,
unsubscribes or leaves. The server sends these frames uncompressed
(`bootstrap.server_config`): per-message deflate would compress every frame again for every
client.

Trades and candles are held and flushed on a short tick (`flush_interval_s`, stretched to
twice the CPU time the last flush took, at most `MAX_FLUSH_INTERVAL_S`, so that
writing takes at most a third of the loop's time; CPU time, not wall-clock time, so that
a flush the operating system paused, on a busy machine, does not stretch the tick). At a
flush, the clients are grouped by what they asked for (subscriptions, bundles or not, fast
path or not); each group's bytes are built once: on the fast path, the WebSocket frames of
its messages joined (or one bundle frame), written to each client's socket in one
`transport.write` (`tickhub.websocket`). A client past `max_buffer_bytes` unsent, or behind
for over `send_timeout_s`, is too slow and is closed (1008). A client without the fast path
(another server, a test client) has a bounded queue of `queue_size` messages and a sender
task with `send_timeout_s`; its plain messages are offered at once, its bundles at the
flush.

Trades of an instrument are sent once: ids at or below the last one sent are skipped
(at-least-once delivery and source replays would otherwise repeat them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from tickhub.bus import Bus, Message, Subscription
from tickhub.marketdata.events import CandleUpdate, SourceStatus, Trade, TradeBatch
from tickhub.marketdata.ingest.normalize import compact_symbol
from tickhub.marketdata.live.client import LiveClient
from tickhub.marketdata.live.selectors import Selector, parse_selector
from tickhub.marketdata.schemas import (
    CandleOut,
    Channel,
    SourceStatusOut,
    StreamCandle,
    StreamStatus,
    StreamTrades,
    TradeOut,
)
from tickhub.websocket import Connection, StreamHub, StreamStats, find_sink, text_frame

log = logging.getLogger(__name__)

PATTERNS = ("trades.#", "candles.#", "status.#")
_BUNDLE_HEAD = '{"channel":"bundle","messages":['
MAX_FLUSH_INTERVAL_S = 0.2
# The tick: this many times the last flush's CPU time. At 1,000 clients, 3 gave a delay
# p99 of 90-92 ms and 2 gave 64-69 ms for 1-4 points more CPU (bench/fanout.py).
FLUSH_COST_FACTOR = 2
GroupKey = tuple[tuple[frozenset[Selector], frozenset[Channel]], bool, bool]

__all__ = ["LiveClient", "LiveHub", "Selector", "TooManyConnections", "encode", "parse_selector"]


def encode(message: BaseModel) -> str:
    """A message to every client that asked for it, encoded once."""
    return message.model_dump_json()


class TooManyConnections(Exception):
    """The client's address already has as many open streams as it may."""


class LiveHub(StreamHub[LiveClient]):
    """Bus → WebSocket clients. `start`/`stop` belong to the web app's lifespan."""

    noun = "live client"
    _log = log

    def __init__(
        self,
        bus: Bus,
        *,
        queue_size: int = 256,
        send_timeout_s: float = 5.0,
        max_buffer_bytes: int = 4 * 2**20,
        flush_interval_s: float = 0.01,
        direct: bool = True,
        encoder: Callable[[BaseModel], str] = encode,
    ) -> None:
        super().__init__(queue_size=queue_size, send_timeout_s=send_timeout_s)
        self._bus = bus
        self._encode = encoder
        self.max_buffer_bytes = max_buffer_bytes
        self._direct = direct  # False: every client through ASGI `send` (tests, comparisons)
        self._min_interval = flush_interval_s
        self._interval = flush_interval_s
        # who wants (channel, exchange, symbol): the queued plain clients, offered each
        # message at once, and whether anyone else (flushed) does; filled as events come,
        # emptied whenever a client's subscriptions change or a client leaves
        self._targets: dict[tuple[Channel, str, str], tuple[tuple[LiveClient, ...], bool]] = {}
        # the clients by what they asked for and how they are reached: (subscriptions,
        # bundle, fast path); a handful of groups however many clients, so that finding
        # who wants a message costs a test per group, not per client
        self._groups: dict[GroupKey, dict[LiveClient, None]] = {}
        self._group_of: dict[LiveClient, GroupKey] = {}
        self._per_address: dict[str, int] = {}
        # (channel, exchange, symbol, text) of the messages since the last flush
        self._pending: list[tuple[Channel, str, str, str]] = []
        # the clients sent the first n pending messages already (`flush_for`)
        self._ahead: dict[LiveClient, int] = {}
        # fast clients holding bytes until their transport catches up
        self._holding: set[LiveClient] = set()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._subscriptions: list[Subscription] = []
        self._clients: set[LiveClient] = set()
        self._last_trade_id: dict[tuple[str, str], int] = {}
        self.statuses: dict[str, SourceStatus] = {}
        self.stats = StreamStats()

    @property
    def running(self) -> bool:
        return bool(self._subscriptions)

    @property
    def clients(self) -> list[LiveClient]:
        return list(self._clients)

    @property
    def send_timeout_s(self) -> float:
        return self._send_timeout

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    async def start(self) -> None:
        if self._subscriptions:
            return
        for pattern in PATTERNS:
            self._subscriptions.append(await self._bus.subscribe(pattern, self.on_event, live=True))

    async def stop(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        for sub in subscriptions:
            await sub.cancel()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self.flush()
        await self._close_all()

    def connect(
        self,
        conn: Connection,
        *,
        address: str | None = None,
        max_per_address: int | None = None,
        scope: Mapping[str, Any] | None = None,
    ) -> LiveClient:
        """A new client; `TooManyConnections` when `address` already has `max_per_address`
        open (one address must not hold every socket of the server). With the `scope` of
        an accepted WebSocket, the client takes the fast path when the server allows it."""
        if (
            address is not None
            and max_per_address is not None
            and self._per_address.get(address, 0) >= max_per_address
        ):
            raise TooManyConnections(f"at most {max_per_address} streams per address")
        sink = None
        if scope is not None and self._direct:
            sink = find_sink(scope, max_buffer=self.max_buffer_bytes, timeout_s=self._send_timeout)
        client = LiveClient(
            self, conn, queue_size=self._queue_size, send_timeout_s=self._send_timeout, sink=sink
        )
        client.address = address
        if address is not None:
            self._per_address[address] = self._per_address.get(address, 0) + 1
        self._clients.add(client)
        self.subscriptions_changed(client)
        self.stats.connected = len(self._clients)
        return client

    def subscriptions_changed(self, client: LiveClient) -> None:
        """A client came, subscribed or unsubscribed: who wants what is looked up again."""
        self._ungroup(client)
        if client in self._clients:
            key = (client.signature, client.bundle, client.sink is not None)
            self._groups.setdefault(key, {})[client] = None
            self._group_of[client] = key
        self._targets.clear()

    def _ungroup(self, client: LiveClient) -> None:
        key = self._group_of.pop(client, None)
        if key is not None:
            members = self._groups[key]
            del members[client]
            if not members:
                del self._groups[key]

    def _wanting(
        self, channel: Channel, exchange: str, symbol: str
    ) -> tuple[tuple[LiveClient, ...], bool]:
        key = (channel, exchange, symbol)
        found = self._targets.get(key)
        if found is None:
            at_once: list[LiveClient] = []
            flushed = False
            for (_, bundle, direct), members in self._groups.items():
                if next(iter(members)).wants(channel, exchange, symbol):
                    if bundle or direct:
                        flushed = True
                    else:
                        at_once.extend(members)
            found = (tuple(at_once), flushed)
            self._targets[key] = found
        return found

    def _all_clients(self) -> list[LiveClient]:
        return list(self._clients)

    def _remove(self, client: LiveClient) -> None:
        if client in self._clients and client.address is not None:
            left = self._per_address[client.address] - 1
            if left:
                self._per_address[client.address] = left
            else:
                del self._per_address[client.address]
        self._clients.discard(client)
        self._ahead.pop(client, None)
        self._holding.discard(client)
        self._ungroup(client)
        self._targets.clear()
        self.stats.connected = len(self._clients)

    # -- events -------------------------------------------------------------------------

    async def on_event(self, _topic: str, message: Message) -> None:
        """Bus handler: never waits, so the hub keeps up with the bus."""
        if isinstance(message, TradeBatch):
            self._on_trades(message)
        elif isinstance(message, CandleUpdate):
            self._fan_out(
                "candles",
                message.exchange,
                message.symbol,
                lambda: StreamCandle(
                    exchange=message.exchange,
                    symbol=message.symbol,
                    candle=CandleOut.of_update(message),
                ),
            )
        elif isinstance(message, SourceStatus):
            self.statuses[message.source] = message
            text: str | None = None
            for client in list(self._clients):
                if "status" in client.channels:
                    if text is None:
                        text = self._encode(StreamStatus(status=SourceStatusOut.of(message)))
                    client.offer(text)

    def _on_trades(self, batch: TradeBatch) -> None:
        key = (batch.exchange, batch.symbol)
        last = self._last_trade_id.get(key)
        seen: set[int] = set()
        fresh: list[Trade] = []
        for t in batch.trades:
            if t.trade_id in seen or (last is not None and t.trade_id <= last):
                continue
            seen.add(t.trade_id)
            fresh.append(t)
        if not fresh:
            return
        fresh.sort(key=lambda t: t.trade_id)
        self._last_trade_id[key] = fresh[-1].trade_id
        self._fan_out(
            "trades",
            batch.exchange,
            batch.symbol,
            lambda: StreamTrades(
                exchange=batch.exchange,
                symbol=batch.symbol,
                simulated=batch.simulated,
                trades=[TradeOut.of(t) for t in fresh],
            ),
        )

    def _fan_out(
        self, channel: Channel, exchange: str, symbol: str, build: Callable[[], BaseModel]
    ) -> None:
        ex, sym = exchange.lower(), compact_symbol(symbol)
        at_once, flushed = self._wanting(channel, ex, sym)
        if not at_once and not flushed:
            return
        text = self._encode(build())
        for client in at_once:
            client.offer(text)
        if flushed:
            self._pending.append((channel, ex, sym, text))
            if self._flush_handle is None:
                self._flush_handle = asyncio.get_running_loop().call_later(
                    self._interval, self._tick
                )

    # -- flushing -----------------------------------------------------------------------

    def _tick(self) -> None:
        self._flush_handle = None
        t0 = time.thread_time()
        self.flush()
        if self._holding:
            now = self.now()
            for client in list(self._holding):
                if client.sink is None or client.closed.is_set() or not client.sink.held:
                    self._holding.discard(client)
                else:
                    client.write(b"", frames=0, now=now)
            if self._holding and self._flush_handle is None:
                self._flush_handle = asyncio.get_running_loop().call_later(
                    self._interval, self._tick
                )
        cost = time.thread_time() - t0
        self.stats.flushes += 1
        self.stats.flush_cpu_s += cost
        self._interval = min(
            MAX_FLUSH_INTERVAL_S, max(self._min_interval, FLUSH_COST_FACTOR * cost)
        )

    def flush(self) -> None:
        """Send what is held: each group's bytes built once, written to each of its clients
        (on the fast path in one write), or offered to its queued clients (bundles). A
        client sent part of it already (`flush_for`) gets the rest alone."""
        pending, self._pending = self._pending, []
        ahead, self._ahead = self._ahead, {}
        if not pending:
            return
        now = self.now()
        frames: dict[int, bytes] = {}  # the fast path's frame of each pending message
        for (_, bundle, direct), members in list(self._groups.items()):
            if not (bundle or direct):
                continue  # offered each message at once
            clients = list(members)
            first = clients[0]
            mine = [i for i, (ch, ex, sym, _t) in enumerate(pending) if first.wants(ch, ex, sym)]
            if not mine:
                continue
            shared = self._build(pending, mine, frames, bundle=bundle, direct=direct)
            for client in clients:
                done = ahead.get(client, 0)
                if done:
                    rest = [i for i in mine if i >= done]
                    if rest:
                        self._deliver(
                            client, self._build(pending, rest, frames, bundle, direct), now
                        )
                else:
                    self._deliver(client, shared, now)

    def flush_for(self, client: LiveClient) -> None:
        """Send `client` what the hub holds for it now, before a message for it alone (or a
        change of its subscriptions); the next flush sends it only what comes after."""
        pending = self._pending
        done = self._ahead.get(client, 0)
        if done >= len(pending):
            return
        self._ahead[client] = len(pending)
        if client.sink is None and not client.bundle:
            return  # offered each message at once
        rest = [i for i in range(done, len(pending)) if client.wants(*pending[i][:3])]
        if rest:
            self._deliver(client, self._build(pending, rest, {}, client.bundle, bool(client.sink)))

    @staticmethod
    def _build(
        pending: list[tuple[Channel, str, str, str]],
        indices: list[int],
        frames: dict[int, bytes],
        bundle: bool,
        direct: bool,
    ) -> tuple[bytes | str, int]:
        """What the messages `indices` of `pending` make: text for a queued client (a
        bundle), or the frames' bytes for the fast path; and how many frames."""
        if bundle:
            text = "".join((_BUNDLE_HEAD, ",".join(pending[i][3] for i in indices), "]}"))
            return (text_frame(text) if direct else text), 1
        for i in indices:
            if i not in frames:
                frames[i] = text_frame(pending[i][3])
        return b"".join([frames[i] for i in indices]), len(indices)

    def _deliver(
        self, client: LiveClient, built: tuple[bytes | str, int], now: float | None = None
    ) -> None:
        data, count = built
        if isinstance(data, str):
            client.offer(data)
        else:
            client.write(data, frames=count, now=now)
            self.stats.flush_writes += 1
            if client.sink is not None and client.sink.held:
                self._holding.add(client)
