"""Seed 000's training data sets at `/crypto/training_data` (the seed left them "Not
Implemented"). Errors keep the seed's Flask envelope, naming the field at fault:
`{"error": ..., "field": ...}`."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from tickhub.accounts.deps import CurrentUser
from tickhub.common.errors import DomainError, Invalid
from tickhub.common.time import utc_now
from tickhub.compat.trading_datastore._envelope import ENVELOPE
from tickhub.problems import challenge, status_of
from tickhub.sessions import datasets as service
from tickhub.sessions.datasets import (
    CSV,
    JSON,
    MEDIA_TYPES,
    PARQUET,
    choose_format,
    csv_stream,
    json_stream,
    parquet_stream,
)
from tickhub.sessions.deps import DatasetsUowDep


def error_response(exc: DomainError) -> JSONResponse:
    """The seed's body, with the field at fault when the error names one."""
    status = status_of(exc).code
    body = {"error": exc.message}
    if exc.field is not None:
        body["field"] = exc.field
    return JSONResponse(body, status_code=status, headers=challenge(status))


class ErrorOut(BaseModel):
    error: str
    field: str | None = None


class DatasetIn(BaseModel):
    """The definition of a data set (documentation of the body, checked by the service)."""

    label: str | None = Field(None, description="Only when the path has no label")
    instruments: list[str] = Field(
        description="`exchange:SYMBOL` or `SYMBOL` (either spelling: BTCUSDT, BTC-USDT), "
        "or objects `{symbol, exchange}`",
        examples=[["binance:BTCUSDT"]],
    )
    interval: str = Field(description="Candle interval: 1m, 5m, 1h, 1d, 1w, 1M ...")
    start: str = Field(description="ISO-8601 (no offset means UTC) or epoch ms; inclusive")
    end: str = Field(description="ISO-8601 or epoch ms; exclusive")
    features: list[str] = Field(
        description="Columns: open, high, low, close, volume, quote_volume, trade_count, "
        "vwap, return[_n], log_return[_n], sma/ema/wma/dema/tema/rsi/cmo/stddev/roc/mom/"
        "atr/natr/adx/cci/willr/mfi[_period], obv, macd/macd_signal/macd_hist[_fast_slow_"
        "signal], bbands[_period[_k]] (three columns: _upper, _middle, _lower)",
        examples=[["close", "return", "rsi_14", "ema_20", "macd"]],
    )
    tz: str | None = Field(None, description="Time zone aligning intervals of a day or more")


class DatasetOut(BaseModel):
    label: str
    owner: str
    definition: dict[str, Any]
    columns: list[str]
    rows: int
    start: str
    end: str
    first: str | None
    last: str | None
    created: str
    hash: str


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Bad input, naming the field"},
    404: {"model": ErrorOut, "description": "No such data set (or not yours)"},
    409: {"model": ErrorOut, "description": "Ambiguous label (admins) or a concurrent write"},
}
BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": DatasetIn.model_json_schema()}},
    }
}
router = APIRouter(
    prefix="/crypto/training_data",
    tags=["training data"],
    route_class=ENVELOPE.route_class(error_response),
)

OwnerQuery = Annotated[
    str | None, Query(description="Admins: the owner's user id (default: any owner)")
]


async def _body(request: Request) -> object:
    raw = await request.body()
    if not raw.strip():
        raise Invalid("the body must be a JSON object", field="body")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise Invalid(f"malformed JSON: {exc}", field="body") from exc


async def _save(
    request: Request, uow: DatasetsUowDep, principal: CurrentUser, label: str | None
) -> JSONResponse:
    info, created = await service.save(
        uow,
        owner_id=principal.id,
        api_key_id=principal.api_key_id,
        label=label,
        body=await _body(request),
        now=utc_now(),
    )
    return JSONResponse(info.describe(), status_code=201 if created else 200)


@router.get(
    "",
    summary="List training data sets (yours; admins see all)",
    response_model=list[DatasetOut],
)
async def list_datasets(
    uow: DatasetsUowDep, principal: CurrentUser, owner: OwnerQuery = None
) -> JSONResponse:
    found = await service.datasets(uow, owner_id=principal.scope(owner))
    return JSONResponse([d.describe() for d in found])


_SAVED: dict[int | str, dict[str, Any]] = {
    200: {"model": DatasetOut, "description": "Replaced"},
    201: {"model": DatasetOut, "description": "Created"},
    **ERRORS,
}


@router.post(
    "",
    summary="Create or replace a training data set named by `label` in the body",
    responses=_SAVED,
    openapi_extra=BODY,
    response_class=JSONResponse,
)
async def create_dataset(
    request: Request, uow: DatasetsUowDep, principal: CurrentUser
) -> JSONResponse:
    return await _save(request, uow, principal, None)


@router.post(
    "/{data_label}",
    summary="Create or replace a training data set",
    description="Materialises the rows from the stored candles and keeps the definition, "
    "row count, time range and a SHA-256 content hash: the same definition over the same "
    "stored data gives the same hash. 201 when new, 200 when it replaced yours.",
    responses=_SAVED,
    openapi_extra=BODY,
    response_class=JSONResponse,
)
async def put_dataset(
    data_label: str, request: Request, uow: DatasetsUowDep, principal: CurrentUser
) -> JSONResponse:
    return await _save(request, uow, principal, data_label)


@router.get(
    "/{data_label}",
    summary="A training data set's rows as JSON, CSV or Parquet",
    description="Chosen by `?format=json|csv|parquet`, else by `Accept` (`application/json`, "
    "`text/csv`, `application/vnd.apache.parquet`); JSON by default. Streamed.",
    responses={
        200: {
            "description": "The rows (JSON: the metadata and `rows`, one object per row)",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        },
        406: {"model": ErrorOut, "description": "No acceptable format"},
        **ERRORS,
    },
    response_class=StreamingResponse,
)
async def get_dataset(
    data_label: str,
    uow: DatasetsUowDep,
    principal: CurrentUser,
    owner: OwnerQuery = None,
    format: Annotated[
        str | None, Query(description="json, csv or parquet (overrides Accept)")
    ] = None,
    accept: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    kind = choose_format(format, accept)
    info = await service.dataset(
        uow, data_label, owner_id=principal.scope(owner), caller_id=principal.id
    )
    pages = service.rows(uow, info)
    headers = {"ETag": f'"{info.hash}"'}
    if kind == JSON:
        head = info.describe()
        head["row_count"] = head.pop("rows")
        body = json_stream(head, info.columns, pages)
    elif kind == CSV:
        body = csv_stream(info.columns, pages)
        headers["Content-Disposition"] = f'attachment; filename="{info.label}.csv"'
    else:
        assert kind == PARQUET
        meta = {"tickhub.label": info.label, "tickhub.hash": info.hash}
        body = parquet_stream(info.columns, pages, meta)
        headers["Content-Disposition"] = f'attachment; filename="{info.label}.parquet"'
    return StreamingResponse(body, media_type=MEDIA_TYPES[kind], headers=headers)


@router.delete(
    "/{data_label}",
    summary="Delete a training data set",
    status_code=204,
    responses=ERRORS,
    response_class=Response,
)
async def delete_dataset(
    data_label: str, uow: DatasetsUowDep, principal: CurrentUser, owner: OwnerQuery = None
) -> Response:
    await service.delete(uow, data_label, owner_id=principal.scope(owner), caller_id=principal.id)
    return Response(status_code=204)
