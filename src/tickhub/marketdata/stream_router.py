"""`/v1/stream`: the live WebSocket of trades, candles and source states (`live.hub`),
and its plain-HTTP twin that answers 426. Joined to the `/v1` routes (`router`)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket
from fastapi.responses import Response

from tickhub.marketdata.deps import LiveHubDep
from tickhub.marketdata.live.hub import TooManyConnections
from tickhub.marketdata.schemas import ERRORS, Problem
from tickhub.settings import Settings
from tickhub.websocket import CLOSE_POLICY, CLOSE_TRY_LATER, receiver, upgrade_required

router = APIRouter(tags=["market data"], responses=ERRORS)

STREAM_PROTOCOL = """\
Connect a WebSocket to `/v1/stream`, optionally subscribing at once with
`?instruments=binance:BTCUSDT,sim:ETHUSDT&channels=trades,candles,status`.

Instruments are `exchange:SYMBOL` (either spelling), `exchange:*` or `*`. Channels:
`trades`, `candles` (1 m candles as they change) and `status` (source states; not per
instrument). A subscribe without channels keeps the channels chosen before, or
takes `trades` and `candles` when neither is chosen yet.

Client messages (JSON):
`{"op": "subscribe", "instruments": [...], "channels": [...]}`,
`{"op": "unsubscribe", "instruments": [...], "channels": [...]}` (both empty: everything),
`{"op": "ping"}`.

Server messages, each with a `channel`:
`{"channel": "subscriptions", "instruments": [...], "channels": [...]}` after connecting and
after every op; `{"channel": "trades", "exchange", "symbol", "simulated", "trades": [...]}`;
`{"channel": "candles", "exchange", "symbol", "interval": "1m", "candle": {...}}`;
`{"channel": "status", "status": {...}}`; `{"channel": "pong"}`;
`{"channel": "error", "field", "detail"}` for a refused message (nothing changes).

`?bundle=true`: trades and candles arrive bundled, `{"channel": "bundle", "messages":
[...]}`, each message inside exactly as it would arrive alone, in the order published;
one frame carries what the server held since its last flush (a few milliseconds), so a
client of many instruments reads far fewer frames. Other messages arrive alone.

A trade is sent once. A client that does not keep up is disconnected (close code 1008),
and so is one past `TICKHUB_GATEWAY_STREAM_MAX_PER_ADDRESS` open streams from its address;
a message larger than `TICKHUB_GATEWAY_WS_MAX_BYTES` closes the connection (1009).
"""


@router.get(
    "/stream",
    summary="Live stream (WebSocket): trades, candles, source states",
    description=STREAM_PROTOCOL,
    status_code=426,
    response_model=None,
    responses={426: {"model": Problem, "description": "Use a WebSocket"}},
)
async def stream_over_http() -> Response:
    return upgrade_required("/v1/stream")


@router.websocket("/stream", name="stream")
async def stream(
    websocket: WebSocket,
    hub: LiveHubDep,
    instruments: str | None = None,
    channels: str | None = None,
    bundle: bool = False,
) -> None:
    if hub is None or not hub.running:
        await websocket.close(code=CLOSE_TRY_LATER, reason="the live stream is not running")
        return
    await websocket.accept()
    settings: Settings | None = getattr(websocket.app.state, "settings", None)
    try:
        client = hub.connect(
            websocket,
            address=websocket.client.host if websocket.client else None,
            max_per_address=settings.gateway.stream_max_per_address if settings else None,
            scope=websocket.scope,
        )
    except TooManyConnections as exc:
        await websocket.close(code=CLOSE_POLICY, reason=str(exc))
        return
    client.bundle = bundle
    if instruments or channels:
        client.handle(
            {
                "op": "subscribe",
                "instruments": _comma_list(instruments),
                "channels": _comma_list(channels),
            }
        )
    else:
        client.send_subscriptions()
    await hub.serve(client, receiver(websocket))


def _comma_list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]
