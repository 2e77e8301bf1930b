"""A strategy's notification channels as stored, from what the user sent.

Errors are domain errors naming the field at fault (`channels.N.<type>.<field>`).
"""

from __future__ import annotations

from typing import Any

from tickhub.alerts.errors import Invalid
from tickhub.alerts.notifiers import AddressPolicy, ChannelKeys, apprise_channel
from tickhub.alerts.schemas import (
    MAX_SECRET,
    MIN_SECRET,
    AppriseIn,
    ChannelIn,
    TelegramIn,
    WebhookIn,
)


def stored_channels(
    given: list[ChannelIn],
    previous: list[dict[str, Any]],
    policy: AddressPolicy,
    keys: ChannelKeys | None = None,
) -> list[dict[str, Any]]:
    """The channels as stored. A webhook without a secret keeps the secret of the
    previous webhook with the same URL; a new webhook must bring one. A webhook URL
    with credentials or a literal non-public address (not allowed by `policy`) is
    refused here; host names are judged at each delivery. An apprise URL is checked
    and stored sealed with `keys` (`notifiers.apprise_channel`); an apprise entry with
    only an `id` keeps the previous channel with that id."""
    secrets = {
        str(c.get("url")): str(c["secret"])
        for c in previous
        if c.get("type") == "webhook" and c.get("secret")
    }
    out: list[dict[str, Any]] = []
    for n, channel in enumerate(given):
        if isinstance(channel, WebhookIn):
            problem = policy.url_problem(channel.url)
            if problem is not None:
                raise Invalid(f"url {problem}", field=f"channels.{n}.webhook.url")
            secret = channel.secret or secrets.get(channel.url)
            if secret is None:
                raise Invalid(
                    f"a new webhook needs a secret ({MIN_SECRET} to {MAX_SECRET} characters)",
                    field=f"channels.{n}.webhook.secret",
                )
            out.append({"type": "webhook", "url": channel.url, "secret": secret})
        elif isinstance(channel, TelegramIn):
            out.append({"type": "telegram", "chat_id": channel.chat_id})
        elif isinstance(channel, AppriseIn):
            field = f"channels.{n}.apprise"
            stored = apprise_channel(
                url=channel.url,
                channel_id=channel.id,
                previous=previous,
                field=field,
                policy=policy,
                keys=keys,
            )
            if any(c.get("id") == stored["id"] for c in out if c["type"] == "apprise"):
                raise Invalid("the same apprise URL is given twice", field=field)
            out.append(stored)
        else:
            out.append({"type": "email", "to": channel.to})
    return out
