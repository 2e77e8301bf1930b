"""Every message that travels on the bus, assembled from the contexts' declarations.

The bus knows no context: each context declares how its messages travel beside its events
(`MESSAGES` in `marketdata.events` and `alerts.events`), and the composition roots
(`bootstrap`, and `app` when it builds its own bus) hand this codec to `make_bus`.
"""

from __future__ import annotations

from tickhub.alerts import events as alerts
from tickhub.bus.codec import Codec
from tickhub.market import events as market
from tickhub.marketdata import events as marketdata


def message_codec() -> Codec:
    """The codec of every tickhub message."""
    return Codec(*marketdata.MESSAGES, *alerts.MESSAGES, *market.MESSAGES)
