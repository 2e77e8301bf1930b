"""An `apprise` channel as stored on a strategy, and as shown.

Stored: `{"type": "apprise", "id", "scheme", "host", "proof", "sealed"}`: `sealed` is
the URL encrypted with the server's key, `id` its keyed fingerprint (the delivery's
`target`), `scheme` and `host` (masked) what the owner sees, `proof` whether the target
must be confirmed with a code first (services that message a person). The URL itself is
never stored in clear, never shown, never logged.
"""

from __future__ import annotations

from typing import Any

from tickhub.alerts.errors import Invalid
from tickhub.alerts.notifiers._apprise_services import read_url
from tickhub.alerts.notifiers._guard import AddressPolicy
from tickhub.alerts.notifiers._sealed import ChannelKeys
from tickhub.common import errors

SHOWN = ("id", "scheme", "host", "proof")


def apprise_channel(
    *,
    url: str | None,
    channel_id: str | None,
    previous: list[dict[str, Any]],
    field: str,
    policy: AddressPolicy,
    keys: ChannelKeys | None,
) -> dict[str, Any]:
    """The channel to store for an `apprise` entry: a new URL, checked and sealed, or
    (`channel_id` alone) the strategy's existing apprise channel with that id, as it
    was. Errors name `field` (`channels.N.apprise.url` or `.id`)."""
    if url is None:
        for old in previous:
            if old.get("type") == "apprise" and old.get("id") == channel_id:
                return dict(old)
        raise Invalid(
            "the strategy has no apprise channel with this id: send its url instead",
            field=f"{field}.id",
        )
    if keys is None:
        raise errors.Unavailable("apprise channels need the server key", field=f"{field}.url")
    try:
        read = read_url(url, policy)
    except ValueError as exc:
        raise Invalid(f"url {exc}", field=f"{field}.url") from None
    return {
        "type": "apprise",
        "id": keys.name(url),
        "scheme": read.scheme,
        "host": read.masked_host,
        "proof": read.personal,
        "sealed": keys.seal(url),
    }
