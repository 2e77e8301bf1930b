"""Alert notifiers: webhook (HMAC-signed), Telegram Bot API, e-mail over SMTP and
apprise (SMS, WhatsApp, Slack, Discord, ntfy, ...), delivered from the
`alert_deliveries` outbox by `DeliveryWorker`."""

from tickhub.alerts.notifiers._apprise import AppriseNotifier
from tickhub.alerts.notifiers._apprise_channel import apprise_channel
from tickhub.alerts.notifiers._email import EmailNotifier
from tickhub.alerts.notifiers._guard import AddressPolicy, Resolver, system_resolver
from tickhub.alerts.notifiers._message import (
    email_message,
    telegram_text,
    webhook_body,
)
from tickhub.alerts.notifiers._outcome import Outcome
from tickhub.alerts.notifiers._sealed import ChannelKeys, channel_keys
from tickhub.alerts.notifiers._store import OutboxRepository
from tickhub.alerts.notifiers._targets import confirm_target
from tickhub.alerts.notifiers._telegram import TelegramNotifier
from tickhub.alerts.notifiers._uow import (
    OutboxStore,
    OutboxUnitOfWork,
    OutboxUow,
    OutboxUowFactory,
)
from tickhub.alerts.notifiers._webhook import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookNotifier,
    sign,
)
from tickhub.alerts.notifiers._worker import DeliveryWorker

__all__ = [
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "AddressPolicy",
    "AppriseNotifier",
    "ChannelKeys",
    "DeliveryWorker",
    "EmailNotifier",
    "OutboxRepository",
    "OutboxStore",
    "OutboxUnitOfWork",
    "OutboxUow",
    "OutboxUowFactory",
    "Outcome",
    "Resolver",
    "TelegramNotifier",
    "WebhookNotifier",
    "apprise_channel",
    "channel_keys",
    "confirm_target",
    "email_message",
    "sign",
    "system_resolver",
    "telegram_text",
    "webhook_body",
]
