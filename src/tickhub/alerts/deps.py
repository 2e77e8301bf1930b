"""FastAPI dependencies: the alerts unit of work, on the app's engine, the webhook
address policy and the keys that seal apprise channel URLs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from tickhub.alerts.notifiers import (
    AddressPolicy,
    ChannelKeys,
    OutboxUnitOfWork,
    OutboxUowFactory,
    channel_keys,
)
from tickhub.alerts.uow import AlertsUnitOfWork, AlertsUowFactory
from tickhub.deps import EngineDep


def get_alerts_uow(engine: EngineDep) -> AlertsUowFactory:
    return AlertsUnitOfWork.factory(engine)


AlertsUowDep = Annotated[AlertsUowFactory, Depends(get_alerts_uow)]


def get_address_policy(conn: HTTPConnection) -> AddressPolicy:
    """Where webhooks may point (`TICKHUB_NOTIFY_ALLOW_HOSTS` and the public internet)."""
    return AddressPolicy(conn.app.state.settings.notify.notify_allow_hosts)


AddressPolicyDep = Annotated[AddressPolicy, Depends(get_address_policy)]


def get_channel_keys(conn: HTTPConnection) -> ChannelKeys:
    """Derived from the server's key on first use, then kept in `app.state`."""
    state = conn.app.state
    keys: ChannelKeys | None = getattr(state, "channel_keys", None)
    if keys is None:
        keys = state.channel_keys = channel_keys(state.settings)
    return keys


ChannelKeysDep = Annotated[ChannelKeys, Depends(get_channel_keys)]


def get_outbox_uow(engine: EngineDep) -> OutboxUowFactory:
    return OutboxUnitOfWork.factory(engine)


OutboxUowDep = Annotated[OutboxUowFactory, Depends(get_outbox_uow)]
