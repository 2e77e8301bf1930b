"""`/v1/strategies`, `/v1/alerts` and the live `/v1/alerts/stream` (thin HTTP layer).

Everything is the caller's own: another user's strategy or alert is a 404. Errors are
`application/problem+json` naming the field; a refused condition also carries
`position` (0-based character offset) and `reason`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Request, WebSocket
from fastapi.responses import Response

from tickhub.accounts import service as accounts
from tickhub.accounts.deps import CurrentUser, authenticate, get_accounts
from tickhub.accounts.errors import AccountsError
from tickhub.accounts.service import Principal
from tickhub.alerts import notifiers, service
from tickhub.alerts.backtest import router as backtest
from tickhub.alerts.deps import AddressPolicyDep, AlertsUowDep, OutboxUowDep
from tickhub.alerts.hub import AlertClient, AlertHub, TooManyConnections
from tickhub.alerts.repository import AlertRecord, DeliveryRecord
from tickhub.alerts.schemas import (
    AlertDetailOut,
    AlertOut,
    AlertPage,
    ConditionIn,
    ConditionOut,
    ConditionProblem,
    DeliveryOut,
    InstrumentOut,
    StrategyIn,
    StrategyOut,
    StrategyPage,
    StrategyPatch,
    TargetConfirmIn,
    channel_out,
)
from tickhub.common.time import from_us, utc_now
from tickhub.marketdata.schemas import Problem
from tickhub.problems import PROBLEM_JSON
from tickhub.settings import Settings
from tickhub.websocket import CLOSE_POLICY, CLOSE_TRY_LATER, receiver, upgrade_required

PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": model, "content": {PROBLEM_JSON: {}}, "description": text}
    for status, model, text in (
        (401, Problem, "No credentials, or credentials that do not hold"),
        (404, Problem, "Not found (or not yours)"),
        (409, Problem, "A name already used, or too many strategies"),
        (422, ConditionProblem, "A field is invalid (`field` names it)"),
    )
}
router = APIRouter(tags=["strategies and alerts"], responses=PROBLEMS)

CLOSE_UNAUTHENTICATED = 4401
StrategyId = Annotated[int, Path(ge=1, le=2**63 - 1)]
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def install(app: FastAPI) -> None:
    """Mount the routes (their errors answer as problem documents, the app's handler of
    domain errors)."""
    app.include_router(backtest.router, prefix="/v1", responses=PROBLEMS)
    app.include_router(router, prefix="/v1")


# ---------------------------------------------------------------- output


def _strategy_out(view: service.StrategyView) -> StrategyOut:
    r = view.record
    return StrategyOut(
        id=r.id,
        name=r.name,
        instruments=list(r.instruments),
        interval=r.interval,
        interval_s=r.interval_s,
        condition=r.condition,
        canonical=view.canonical,
        cooldown_s=r.cooldown_s,
        channels=[channel_out(c) for c in r.channels],
        active=r.active,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def _alert_fields(r: AlertRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "strategy_id": r.strategy_id,
        "strategy_name": r.strategy_name,
        "instrument": InstrumentOut(exchange=r.exchange, symbol=r.symbol),
        "interval": r.interval,
        "candle_start": from_us(r.candle_start),
        "candle_close": from_us(r.candle_close),
        "condition": r.condition,
        "values": dict(r.values),
        "close": r.close,
        "raised_at": r.raised_at,
    }


def _delivery_out(d: DeliveryRecord) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        channel=d.channel,
        target=d.target,
        status=d.status,
        attempts=d.attempts,
        last_error=d.last_error,
        response_status=d.response_status,
        delivered_at=d.delivered_at,
    )


# ---------------------------------------------------------------- strategies


@router.post("/strategies/check", summary="Check a condition without storing anything")
async def check_condition(body: ConditionIn) -> ConditionOut:
    """The condition's canonical form, the candle series and indicators it uses and the
    candles it needs; a 422 with `position` and `reason` when it does not parse.

    The language: numbers, the series `open high low close volume vwap trade_count`,
    `+ - * /`, comparisons `< <= > >= == !=`, `and or not`, brackets and the indicators
    `rsi sma ema wma macd macd_signal macd_hist bbands_upper bbands_middle bbands_lower
    atr stddev roc change highest lowest crosses_above crosses_below`. Nothing else is
    accepted (no attributes, no other names), and size and nesting are bounded."""
    c = service.check_condition(body.condition)
    return ConditionOut(
        condition=c.condition,
        canonical=c.canonical,
        series=c.series,
        functions=c.functions,
        lookback=c.lookback,
    )


@router.post("/strategies", status_code=201, summary="Create a strategy")
async def create_strategy(
    body: StrategyIn,
    request: Request,
    response: Response,
    principal: CurrentUser,
    uow: AlertsUowDep,
    policy: AddressPolicyDep,
) -> StrategyOut:
    """A condition over the closed candles of some instruments at one interval; when it
    holds, an alert is raised (at most once per `cooldown_s` per instrument) and sent
    through the channels. 409 when the name is taken or the user has too many."""
    view = await service.create_strategy(uow, user_id=principal.id, data=body, policy=policy)
    response.headers["Location"] = request.url_for("get_strategy", strategy_id=view.record.id).path
    return _strategy_out(view)


@router.get("/strategies", summary="The caller's strategies")
async def list_strategies(
    principal: CurrentUser,
    uow: AlertsUowDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> StrategyPage:
    views, total = await service.list_strategies(
        uow, user_id=principal.id, limit=limit, offset=offset
    )
    return StrategyPage(
        items=[_strategy_out(v) for v in views], total=total, limit=limit, offset=offset
    )


@router.get("/strategies/{strategy_id}", summary="One strategy")
async def get_strategy(
    strategy_id: StrategyId, principal: CurrentUser, uow: AlertsUowDep
) -> StrategyOut:
    view = await service.get_strategy(uow, user_id=principal.id, strategy_id=strategy_id)
    return _strategy_out(view)


@router.patch("/strategies/{strategy_id}", summary="Change a strategy")
async def patch_strategy(
    strategy_id: StrategyId,
    body: StrategyPatch,
    principal: CurrentUser,
    uow: AlertsUowDep,
    policy: AddressPolicyDep,
) -> StrategyOut:
    """Only the fields sent change; `instruments` and `channels` are replaced whole. A
    webhook sent without its secret keeps the secret it had (matched by URL)."""
    view = await service.update_strategy(
        uow, user_id=principal.id, strategy_id=strategy_id, data=body, policy=policy
    )
    return _strategy_out(view)


@router.post(
    "/alerts/targets/confirm", status_code=204, summary="Prove an e-mail address or chat yours"
)
async def confirm_target(
    body: TargetConfirmIn, principal: CurrentUser, outbox: OutboxUowDep
) -> Response:
    """Alerts go to an e-mail address or Telegram chat only once its owner proved it: the
    first alert for it sends a six-digit code there instead; post it here. 404 when no
    code was sent to that target, 422 for a wrong or expired code."""
    await notifiers.confirm_target(
        outbox,
        user_id=principal.id,
        channel=body.channel,
        target=body.target,
        code=body.code,
        now=utc_now(),
    )
    return Response(status_code=204)


@router.delete("/strategies/{strategy_id}", status_code=204, summary="Delete a strategy")
async def delete_strategy(
    strategy_id: StrategyId, principal: CurrentUser, uow: AlertsUowDep
) -> Response:
    """The alerts it raised stay in the history (with `strategy_id` null)."""
    await service.delete_strategy(uow, user_id=principal.id, strategy_id=strategy_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- alerts

STREAM_PROTOCOL = """\
Connect a WebSocket to `/v1/alerts/stream` with an access token (`Authorization: Bearer`,
or `?token=` where headers cannot be set, as in browsers) or an API key (`X-API-Key`).
Without valid credentials the connection is closed with code 4401, and so is an open
stream once its credentials stop holding (the token expired or was signed out by a
password change, the key was revoked), checked every `TICKHUB_GATEWAY_STREAM_RECHECK_S`.

Each alert of yours is pushed as it is raised, as the same JSON object as
`GET /v1/alerts/{id}` gives (without `deliveries`). Send `{"op": "ping"}` to get
`{"op": "pong"}` after everything queued before it. A client too slow to keep up is
closed with 1008; alerts missed meanwhile are in `GET /v1/alerts`.
"""


@router.get(
    "/alerts/stream",
    summary="Live alerts (WebSocket)",
    description=STREAM_PROTOCOL,
    status_code=426,
    response_model=None,
    responses={426: {"model": Problem, "description": "Use a WebSocket"}},
)
async def alerts_stream_over_http() -> Response:
    return upgrade_required("/v1/alerts/stream")


@router.get("/alerts", summary="The caller's alerts, newest first")
async def list_alerts(
    principal: CurrentUser,
    uow: AlertsUowDep,
    strategy_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    exchange: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    symbol: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    start: Annotated[
        str | None, Query(max_length=64, description="Candle close time from (ISO-8601 or ms)")
    ] = None,
    end: Annotated[str | None, Query(max_length=64, description="Candle close time before")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page")
    ] = None,
) -> AlertPage:
    page = await service.list_alerts(
        uow,
        user_id=principal.id,
        strategy_id=strategy_id,
        exchange=exchange,
        symbol=symbol,
        start=start,
        end=end,
        cursor=cursor,
        limit=limit,
    )
    return AlertPage(
        items=[AlertOut(**_alert_fields(r)) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/alerts/{alert_id}", summary="One alert, with its deliveries")
async def get_alert(alert_id: AlertId, principal: CurrentUser, uow: AlertsUowDep) -> AlertDetailOut:
    record, deliveries = await service.get_alert(uow, user_id=principal.id, alert_id=alert_id)
    return AlertDetailOut(
        **_alert_fields(record), deliveries=[_delivery_out(d) for d in deliveries]
    )


# ---------------------------------------------------------------- the live stream


async def _principal(websocket: WebSocket, token: str | None) -> Principal | None:
    """The caller by header (bearer token or API key), else by `?token=`."""
    try:
        principal = await authenticate(websocket)
        if principal is None and token:
            principal = await accounts.authenticate_token(get_accounts(websocket), token)
    except AccountsError:
        return None
    return principal


async def _recheck(websocket: WebSocket, token: str | None) -> Principal | None:
    """The credentials the stream was opened with, checked again (not the cached
    principal): None once the token expired, the password changed or the key was
    revoked."""
    a = get_accounts(websocket)
    scheme, _, bearer = websocket.headers.get("authorization", "").strip().partition(" ")
    key = websocket.headers.get("x-api-key", "").strip()
    try:
        if scheme.lower() == "bearer" and bearer.strip():
            return await accounts.authenticate_token(a, bearer.strip())
        if key:
            return await accounts.authenticate_api_key(a, key)
        return await accounts.authenticate_token(a, token) if token else None
    except AccountsError:
        return None


async def _watch_credentials(
    websocket: WebSocket, client: AlertClient, token: str | None, every_s: float
) -> None:
    """End the stream (4401) when its credentials stop holding; checked every `every_s`."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(client.closed.wait(), every_s)
            return
        principal = await _recheck(websocket, token)
        if principal is None or principal.id != client.user_id:
            client.close(CLOSE_UNAUTHENTICATED, "the credentials no longer hold")
            return


@router.websocket("/alerts/stream", name="alerts_stream")
async def alerts_stream(websocket: WebSocket, token: str | None = None) -> None:
    hub: AlertHub | None = getattr(websocket.app.state, "alert_hub", None)
    principal = await _principal(websocket, token)
    await websocket.accept()
    if principal is None:
        await websocket.close(CLOSE_UNAUTHENTICATED, "authentication required")
        return
    if hub is None or not hub.running:
        await websocket.close(CLOSE_TRY_LATER, "the alert stream is not running")
        return
    try:
        client = hub.connect(principal.id, websocket)
    except TooManyConnections as exc:
        await websocket.close(CLOSE_POLICY, str(exc))
        return
    settings: Settings = websocket.app.state.settings
    watch = asyncio.create_task(
        _watch_credentials(websocket, client, token, settings.gateway.stream_recheck_s),
        name=f"alerts:credentials:{client.id}",
    )
    try:
        await hub.serve(client, receiver(websocket))
    finally:
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch
