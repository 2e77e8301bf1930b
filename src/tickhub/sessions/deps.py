"""FastAPI dependencies: the sessions and data set units of work, on the app's engine."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tickhub.deps import EngineDep
from tickhub.sessions.datasets import DatasetsUnitOfWork, DatasetsUowFactory
from tickhub.sessions.uow import SessionsUnitOfWork, SessionsUowFactory


def get_sessions_uow(engine: EngineDep) -> SessionsUowFactory:
    return SessionsUnitOfWork.factory(engine)


def get_datasets_uow(engine: EngineDep) -> DatasetsUowFactory:
    return DatasetsUnitOfWork.factory(engine)


SessionsUowDep = Annotated[SessionsUowFactory, Depends(get_sessions_uow)]
DatasetsUowDep = Annotated[DatasetsUowFactory, Depends(get_datasets_uow)]
