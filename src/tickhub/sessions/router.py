"""Model info under `/v1` (problem+json; seed 000's paths are in
`tickhub.compat.trading_datastore`, with the seed's envelope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query
from fastapi.responses import Response

from tickhub.accounts.deps import CurrentUser
from tickhub.sessions import service
from tickhub.sessions.deps import SessionsUowDep
from tickhub.sessions.schemas import (
    ModelIn,
    ModelOut,
    ModelPage,
    ModelPatch,
    SessionModelOut,
    iso_time,
)

v1 = APIRouter(tags=["model info"])

# Ids the database can hold (64-bit); one beyond is a 422 naming it, one within but
# absent a 404.
ModelId = Annotated[int, Path(ge=-(2**63), le=2**63 - 1)]
SessionId = Annotated[int, Path(ge=-(2**63), le=2**63 - 1)]


def install(app: FastAPI) -> None:
    """Mount the model routes (their errors answer as problem documents, the app's
    handler of domain errors)."""
    app.include_router(v1, prefix="/v1")


# ---------------------------------------------------------------- /v1 model info


def _model_out(view: service.ModelView) -> ModelOut:
    r = view.record
    return ModelOut(
        id=r.id,
        name=r.name,
        version=r.version,
        parameters=r.parameters,
        metrics=r.metrics,
        dataset_label=r.dataset_label,
        owner_id=r.owner_id,
        created_at=iso_time(r.created_at) or "",
        sessions=view.sessions,
    )


@v1.post("/models", status_code=201, summary="Record a model")
async def create_model(body: ModelIn, principal: CurrentUser, uow: SessionsUowDep) -> ModelOut:
    """A model: name, version (unique per owner), parameters, metrics and the label of
    the training data set it learned from. 409 when the name and version exist."""
    return _model_out(await service.create_model(uow, principal, body))


@v1.get("/models", summary="The caller's models")
async def list_models(
    principal: CurrentUser,
    uow: SessionsUowDep,
    name: Annotated[str | None, Query(max_length=128)] = None,
    dataset_label: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ModelPage:
    views, total = await service.list_models(
        uow, principal, name=name, dataset_label=dataset_label, limit=limit, offset=offset
    )
    return ModelPage(items=[_model_out(v) for v in views], total=total, limit=limit, offset=offset)


@v1.get("/models/{model_id}", summary="One model, with the sessions that used it")
async def get_model(model_id: ModelId, principal: CurrentUser, uow: SessionsUowDep) -> ModelOut:
    return _model_out(await service.get_model(uow, principal, model_id))


@v1.patch("/models/{model_id}", summary="Change a model's parameters, metrics or data set")
async def patch_model(
    model_id: ModelId, body: ModelPatch, principal: CurrentUser, uow: SessionsUowDep
) -> ModelOut:
    return _model_out(await service.patch_model(uow, principal, model_id, body))


@v1.delete("/models/{model_id}", status_code=204, summary="Delete a model")
async def delete_model(model_id: ModelId, principal: CurrentUser, uow: SessionsUowDep) -> Response:
    """Sessions that used it keep their `model_name` and lose the link."""
    await service.delete_model(uow, principal, model_id)
    return Response(status_code=204)


@v1.get("/sessions/{session_id}/model", summary="Which model ran a session, on which data")
async def session_model(
    session_id: SessionId, principal: CurrentUser, uow: SessionsUowDep
) -> SessionModelOut:
    record, model = await service.session_model(uow, principal, session_id)
    return SessionModelOut(
        session_id=record.id,
        session_name=record.session_name,
        model_name=record.model_name,
        model=_model_out(model) if model else None,
        dataset_label=model.record.dataset_label if model else None,
    )
