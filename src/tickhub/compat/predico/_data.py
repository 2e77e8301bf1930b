"""Seed 003's data paths (raw measurements, market forecasts) and the users'
notifications.

Raw data is upserted on (user, resource, datetime) in one transaction. These two upload
paths have their own body limit, `TICKHUB_GATEWAY_MAX_BULK_BODY_BYTES` (16 MiB by
default; every other path keeps `TICKHUB_GATEWAY_MAX_BODY_BYTES`, 1 MiB): a year of
15-minute values (35,040 points) is about 2 MB of JSON."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tickhub.accounts.deps import AdminUser, CurrentUser
from tickhub.compat._envelopes import seed_error, seed_ok
from tickhub.compat.predico import _query as q
from tickhub.compat.predico._bodies import body_doc, read
from tickhub.compat.predico._envelope import TAGS, SeedRoute
from tickhub.market import service
from tickhub.market.deps import MarketDep
from tickhub.market.errors import NotFound
from tickhub.market.schemas import (
    ForecastsIn,
    NotificationStateIn,
    NotificationTypeIn,
    RawDataIn,
    seed_forecast,
    seed_notification,
    seed_raw,
)

router = APIRouter(tags=TAGS, route_class=SeedRoute)


def _range(
    principal: service.Caller,
    *,
    start_date: str | None,
    end_date: str | None,
    resource: str | None,
    market_session: str | None,
    user: str | None,
) -> service.RangeFilter:
    return service.RangeFilter(
        resource_id=q.resource(resource),
        session_id=q.session_id(market_session),
        start=q.seed_time(start_date, "start_date"),
        end=q.seed_time(end_date, "end_date"),
        user_id=q.user(user, is_admin=principal.is_admin),
    )


@router.get("/api/data/raw-data", summary="The caller's raw measurements (admins: all)")
async def get_raw(
    principal: CurrentUser,
    market: MarketDep,
    start_date: str | None = Query(default=None, description="%Y-%m-%dT%H:%M:%SZ"),
    end_date: str | None = Query(default=None, description="%Y-%m-%dT%H:%M:%SZ"),
    resource: str | None = Query(default=None),
    market_session: str | None = Query(default=None, description="Checked, as the seed"),
    user: str | None = Query(default=None, description="Admins: one user's"),
) -> Response:
    f = _range(
        principal,
        start_date=start_date,
        end_date=end_date,
        resource=resource,
        market_session=market_session,
        user=user,
    )
    return seed_ok([seed_raw(r) for r in await service.raw_data(market, principal, f)])


@router.post(
    "/api/data/raw-data",
    summary="Upload measurements of one of the caller's resources",
    openapi_extra=body_doc(RawDataIn),
)
async def post_raw(request: Request, principal: CurrentUser, market: MarketDep) -> Response:
    """Upsert on (user, resource, datetime): a time sent again replaces its value. The
    seed's answer: `message` empty when every value was new, else "One or more database
    records were updated."."""
    body = await read(request, RawDataIn)
    written = await service.upload_raw(
        market,
        principal,
        resource_name=body.resource_name,
        time_interval=body.time_interval,
        aggregation_type=body.aggregation_type,
        units=body.units,
        points=[service.Point(p.datetime, p.value) for p in body.timeseries],
    )
    return seed_ok({"status": "ok", "message": written.message})


@router.get("/api/data/market-forecasts", summary="Forecasts of the caller's resources")
async def get_forecasts(
    principal: CurrentUser,
    market: MarketDep,
    start_date: str | None = Query(default=None, description="%Y-%m-%dT%H:%M:%SZ"),
    end_date: str | None = Query(default=None, description="%Y-%m-%dT%H:%M:%SZ"),
    resource: str | None = Query(default=None),
    market_session: str | None = Query(default=None),
    user: str | None = Query(default=None, description="Admins: one user's"),
) -> Response:
    f = _range(
        principal,
        start_date=start_date,
        end_date=end_date,
        resource=resource,
        market_session=market_session,
        user=user,
    )
    return seed_ok([seed_forecast(r) for r in await service.forecasts(market, principal, f)])


@router.post(
    "/api/data/market-forecasts",
    summary="Store forecasts for a user's resource (admins, or an external engine)",
    openapi_extra=body_doc(ForecastsIn),
)
async def post_forecasts(request: Request, _admin: AdminUser, market: MarketDep) -> Response:
    body = await read(request, ForecastsIn)
    if not q.is_uuid(body.user):
        raise q.query_error("Must be a valid UUID.", "user")
    written = await service.post_forecasts(
        market,
        user_id=body.user,
        resource_name=body.resource_name,
        session_id=body.market_session,
        units=body.units,
        points=[service.ForecastPoint(p.datetime, p.request, p.value) for p in body.timeseries],
    )
    return seed_ok({"status": "ok", "message": written.message})


# ---------------------------------------------------------------- notifications


@router.get("/api/user/notification", summary="The caller's notifications, by type")
async def notifications(principal: CurrentUser, market: MarketDep) -> Response:
    grouped = await service.notifications(market, principal)
    return seed_ok({kind: [seed_notification(n) for n in ns] for kind, ns in grouped.items()})


@router.get("/api/user/notification/{notification_id}", summary="One of the caller's")
async def notification(notification_id: int, principal: CurrentUser, market: MarketDep) -> Response:
    """404 for another user's or an unknown one (as the seed's update view)."""
    try:
        found = await service.notification(market, principal, notification_id)
    except NotFound as exc:
        return seed_error(404, message=exc.message)
    data = seed_notification(found)
    data["notification_type"] = found.notification_type
    return seed_ok(data)


@router.patch(
    "/api/user/notification/{notification_id}",
    summary="Mark one of the caller's notifications read (state false) or unread",
    openapi_extra=body_doc(NotificationStateIn),
)
@router.put(
    "/api/user/notification/{notification_id}",
    summary="Same as PATCH (the seed's update view takes both)",
    openapi_extra=body_doc(NotificationStateIn),
)
async def notification_state(
    notification_id: int, request: Request, principal: CurrentUser, market: MarketDep
) -> Response:
    body = await read(request, NotificationStateIn)
    try:
        found = await service.set_notification_state(market, principal, notification_id, body.state)
    except NotFound as exc:
        return seed_error(404, message=exc.message)
    return seed_ok({"state": found.state})


# ---------------------------------------------------------------- notification types (admins)


def _seed_type(t: service.NotificationType) -> dict[str, object]:
    return {"id": t.id, "name": t.name}


@router.get("/api/user/notification_type", summary="Notification types an admin added")
async def list_notification_types(_admin: AdminUser, market: MarketDep) -> Response:
    return seed_ok([_seed_type(t) for t in await service.notification_types(market)])


@router.post(
    "/api/user/notification_type",
    summary="Add a notification type: every user gets one notification of it",
    openapi_extra=body_doc(NotificationTypeIn),
)
async def post_notification_type(
    request: Request, _admin: AdminUser, market: MarketDep
) -> Response:
    """400 for a name taken or too like another (the seed's difflib ratio of 0.7)."""
    body = await read(request, NotificationTypeIn)
    return seed_ok(_seed_type(await service.add_notification_type(market, body.name)), 201)


@router.put(
    "/api/user/notification_type/{type_id}",
    summary="Rename a notification type (and its notifications)",
    openapi_extra=body_doc(NotificationTypeIn),
)
@router.patch(
    "/api/user/notification_type/{type_id}",
    summary="Same as PUT (the seed's update view takes both)",
    openapi_extra=body_doc(NotificationTypeIn),
)
async def put_notification_type(
    type_id: int, request: Request, _admin: AdminUser, market: MarketDep
) -> Response:
    """An unknown type is the seed's 400 with `{"message": ...}` in `data`."""
    await service.check_notification_type(market, type_id)
    body = await read(request, NotificationTypeIn)
    return seed_ok(_seed_type(await service.rename_notification_type(market, type_id, body.name)))


@router.delete(
    "/api/user/notification_type/{type_id}",
    summary="Delete a notification type and its notifications",
    status_code=204,
)
async def delete_notification_type(type_id: int, _admin: AdminUser, market: MarketDep) -> Response:
    await service.delete_notification_type(market, type_id)
    return Response(status_code=204)
