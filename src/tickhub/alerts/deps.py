"""FastAPI dependencies: the alerts unit of work, on the app's engine, and the webhook
address policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from tickhub.alerts.notifiers import AddressPolicy, OutboxUnitOfWork, OutboxUowFactory
from tickhub.alerts.uow import AlertsUnitOfWork, AlertsUowFactory
from tickhub.deps import EngineDep


def get_alerts_uow(engine: EngineDep) -> AlertsUowFactory:
    return AlertsUnitOfWork.factory(engine)


AlertsUowDep = Annotated[AlertsUowFactory, Depends(get_alerts_uow)]


def get_address_policy(conn: HTTPConnection) -> AddressPolicy:
    """Where webhooks may point (`TICKHUB_NOTIFY_ALLOW_HOSTS` and the public internet)."""
    return AddressPolicy(conn.app.state.settings.notify.notify_allow_hosts)


AddressPolicyDep = Annotated[AddressPolicy, Depends(get_address_policy)]


def get_outbox_uow(engine: EngineDep) -> OutboxUowFactory:
    return OutboxUnitOfWork.factory(engine)


OutboxUowDep = Annotated[OutboxUowFactory, Depends(get_outbox_uow)]
