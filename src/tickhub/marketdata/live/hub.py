"""Live fan-out of market data to WebSocket clients (`/v1/stream`).

One `LiveHub` per process subscribes to the bus once, with live subscriptions (when the hub
falls behind, the bus drops the oldest messages instead of slowing the pipeline). It
encodes each event once, whatever the number of clients, and offers the same text to the
clients that asked for it; who asked is looked up in an index by (channel, exchange,
symbol), rebuilt only when a client subscribes, unsubscribes or leaves. Every client has a
bounded queue and its own sender task with a send timeout: a client that cannot keep up is
disconnected, so it slows neither the other clients nor the publishers (`tickhub.websocket`).
The server sends these frames uncompressed (`bootstrap.server_config`): per-message
deflate would compress every frame again for every client.

Trades of an instrument are sent once: ids at or below the last one sent are skipped
(at-least-once delivery and source replays would otherwise repeat them).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from tickhub.bus import Bus, Message, Subscription
from tickhub.marketdata.events import CandleUpdate, SourceStatus, Trade, TradeBatch
from tickhub.marketdata.ingest.normalize import compact_symbol
from tickhub.marketdata.schemas import (
    CHANNELS,
    CandleOut,
    Channel,
    SourceStatusOut,
    StreamCandle,
    StreamError,
    StreamPong,
    StreamRequest,
    StreamStatus,
    StreamSubscriptions,
    StreamTrades,
    TradeOut,
)
from tickhub.websocket import Connection, QueuedClient, StreamHub, StreamStats

log = logging.getLogger(__name__)

PATTERNS = ("trades.#", "candles.#", "status.#")
_BUNDLE_HEAD = '{"channel":"bundle","messages":['
DEFAULT_CHANNELS: frozenset[Channel] = frozenset({"trades", "candles"})
MAX_SELECTORS = 500


@dataclass(frozen=True, slots=True)
class Selector:
    """`exchange:SYMBOL`, `exchange:*` or `*`; the symbol in either spelling."""

    exchange: str  # lower case, or "*"
    symbol: str  # compact upper case (`BTCUSDT`), or "*"

    def matches(self, exchange: str, symbol: str) -> bool:
        """`exchange` lower case and `symbol` compact, as the hub passes them."""
        return (self.exchange in {"*", exchange}) and (self.symbol in {"*", symbol})

    def __str__(self) -> str:
        if self.exchange == "*" and self.symbol == "*":
            return "*"
        return f"{self.exchange}:{self.symbol}"


def parse_selector(text: str) -> Selector:
    s = text.strip()
    if s == "*":
        return Selector("*", "*")
    exchange, sep, symbol = s.partition(":")
    exchange = exchange.strip().lower()
    symbol = "*" if symbol.strip() == "*" else compact_symbol(symbol)
    if not sep or not exchange or not symbol or not exchange.replace("_", "").isalnum():
        raise ValueError(f"invalid instrument {text!r}: use exchange:SYMBOL, exchange:* or *")
    return Selector(exchange, symbol)


class LiveClient(QueuedClient):
    """One WebSocket client: its subscriptions, its queue and its sender task."""

    kind = "live"
    _hub: LiveHub

    def __init__(
        self, hub: LiveHub, conn: Connection, *, queue_size: int, send_timeout_s: float
    ) -> None:
        super().__init__(hub, conn, queue_size=queue_size, send_timeout_s=send_timeout_s)
        self.address: str | None = None
        self.selectors: set[Selector] = set()
        self.channels: set[Channel] = set()
        # `bundle`: trades and candles come in one frame per burst of bus events
        self.bundle = False
        self.signature: tuple[frozenset[Selector], frozenset[Channel]] = (frozenset(), frozenset())

    def __repr__(self) -> str:
        return f"LiveClient({self.id})"

    # -- subscriptions ----------------------------------------------------------------

    def wants(self, channel: Channel, exchange: str, symbol: str) -> bool:
        return channel in self.channels and any(s.matches(exchange, symbol) for s in self.selectors)

    def handle_text(self, text: str) -> None:
        """A message from the client; a bad one gets an error and changes nothing."""
        try:
            data = json.loads(text)
        except ValueError:
            self.send(StreamError(field="message", detail="not JSON"))
            return
        self.handle(data)

    def handle(self, data: Any) -> None:
        try:
            request = StreamRequest.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = str(first["loc"][0]) if first.get("loc") else "message"
            self.send(StreamError(field=field, detail=first.get("msg", "invalid")))
            return
        self.apply(request)

    def apply(self, request: StreamRequest) -> None:
        if request.op == "ping":
            self.send(StreamPong())
            return
        try:
            selectors = {parse_selector(s) for s in request.instruments}
        except ValueError as exc:
            self.send(StreamError(field="instruments", detail=str(exc)))
            return
        channels = set(request.channels)
        if request.op == "subscribe":
            if len(self.selectors | selectors) > MAX_SELECTORS:
                self.send(
                    StreamError(field="instruments", detail=f"at most {MAX_SELECTORS} instruments")
                )
                return
            self.selectors |= selectors
            # without channels: keep those chosen, or take trades and candles if none is
            added = channels or (
                set() if self.channels & DEFAULT_CHANNELS else set(DEFAULT_CHANNELS)
            )
            new_status = "status" in added and "status" not in self.channels
            self.channels |= added
        else:
            if not selectors and not channels:
                self.selectors.clear()
                self.channels.clear()
            self.selectors -= selectors
            self.channels -= channels
            new_status = False
        self.signature = (frozenset(self.selectors), frozenset(self.channels))
        self._hub.subscriptions_changed()
        self.send_subscriptions()
        if new_status:
            for status in self._hub.statuses.values():
                self.send(StreamStatus(status=SourceStatusOut.of(status)))

    def send_subscriptions(self) -> None:
        self.send(
            StreamSubscriptions(
                instruments=sorted(str(s) for s in self.selectors),
                channels=[c for c in CHANNELS if c in self.channels],
            )
        )

    # -- sending ----------------------------------------------------------------------

    def send(self, message: BaseModel) -> None:
        self.offer(message.model_dump_json())


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
        encoder: Callable[[BaseModel], str] = encode,
    ) -> None:
        super().__init__(queue_size=queue_size, send_timeout_s=send_timeout_s)
        self._bus = bus
        self._encode = encoder
        # who wants (channel, exchange, symbol), filled as events come; emptied whenever a
        # client's subscriptions change or a client leaves
        self._targets: dict[tuple[Channel, str, str], tuple[LiveClient, ...]] = {}
        # (channel, exchange, symbol, text) of the messages since the last bundles were sent
        self._to_bundle: list[tuple[Channel, str, str, str]] = []
        self._bundling = False
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

    async def start(self) -> None:
        if self._subscriptions:
            return
        for pattern in PATTERNS:
            self._subscriptions.append(await self._bus.subscribe(pattern, self.on_event, live=True))

    async def stop(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        for sub in subscriptions:
            await sub.cancel()
        await self._close_all()

    def connect(
        self, conn: Connection, *, address: str | None = None, max_per_address: int | None = None
    ) -> LiveClient:
        """A new client; `TooManyConnections` when `address` already has `max_per_address`
        open (one address must not hold every socket of the server)."""
        if address is not None and max_per_address is not None:
            open_here = sum(1 for c in self._clients if c.address == address)
            if open_here >= max_per_address:
                raise TooManyConnections(f"at most {max_per_address} streams per address")
        client = LiveClient(
            self, conn, queue_size=self._queue_size, send_timeout_s=self._send_timeout
        )
        client.address = address
        self._clients.add(client)
        self.stats.connected = len(self._clients)
        return client

    def subscriptions_changed(self) -> None:
        """A client subscribed or unsubscribed: who wants what is looked up again."""
        self._targets.clear()

    def _wanting(self, channel: Channel, exchange: str, symbol: str) -> tuple[LiveClient, ...]:
        key = (channel, exchange, symbol)
        found = self._targets.get(key)
        if found is None:
            found = tuple(c for c in self._clients if c.wants(channel, exchange, symbol))
            self._targets[key] = found
        return found

    def _all_clients(self) -> list[LiveClient]:
        return list(self._clients)

    def _remove(self, client: LiveClient) -> None:
        self._clients.discard(client)
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
        targets = self._wanting(channel, ex, sym)
        if not targets:
            return
        text = self._encode(build())
        bundled = False
        for client in targets:
            if client.bundle:
                bundled = True
            else:
                client.offer(text)
        if bundled:
            self._to_bundle.append((channel, ex, sym, text))
            if not self._bundling:
                self._bundling = True
                asyncio.get_running_loop().call_soon(self._send_bundles)

    def _send_bundles(self) -> None:
        """Once the events delivered together are fanned out: to each client that asked for
        bundles, one frame with the messages it wants, built once for all the clients
        that want the same (the messages inside are the texts encoded before)."""
        self._bundling = False
        pending, self._to_bundle = self._to_bundle, []
        groups: dict[tuple[frozenset[Selector], frozenset[Channel]], list[LiveClient]] = {}
        for client in self._clients:
            if client.bundle:
                groups.setdefault(client.signature, []).append(client)
        for clients in groups.values():
            first = clients[0]
            texts = [text for ch, ex, sym, text in pending if first.wants(ch, ex, sym)]
            if not texts:
                continue
            frame = "".join((_BUNDLE_HEAD, ",".join(texts), "]}"))
            for client in clients:
                client.offer(frame)
