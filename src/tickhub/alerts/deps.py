"""FastAPI dependencies: the alerts unit of work, on the app's engine."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tickhub.alerts.uow import AlertsUnitOfWork, AlertsUowFactory
from tickhub.deps import EngineDep


def get_alerts_uow(engine: EngineDep) -> AlertsUowFactory:
    return AlertsUnitOfWork.factory(engine)


AlertsUowDep = Annotated[AlertsUowFactory, Depends(get_alerts_uow)]
