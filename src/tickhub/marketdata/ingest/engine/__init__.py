"""The connector engine: what every streaming venue needs, run once for all of them.

A venue declares itself (`Venue`: URLs, subscribe messages, frame and REST parsing, its
REST budget, how it pages back); `Connector` runs it: connect, subscribe, keepalive,
reconnect with backoff and ahead of the venue's forced cut, gaps from the venue's own
ids and heartbeats, REST backfill by cursor within the venue's limits, malformed
messages kept aside, status and counters.
"""

from tickhub.marketdata.ingest.engine._backoff import (
    DEFAULT_RETRY_AFTER_S,
    backoff_delay,
    retry_after_s,
)
from tickhub.marketdata.ingest.engine._connector import HTTP_TIMEOUT_S, Connector
from tickhub.marketdata.ingest.engine._frames import (
    FrameError,
    Gap,
    Heartbeat,
    Notice,
    Parsed,
    ParsedTrade,
    field_amount,
    field_bool,
    field_int,
    field_str,
)
from tickhub.marketdata.ingest.engine._link import (
    CONNECT_ERRORS,
    KEEPALIVE_S,
    StreamLink,
    open_stream,
)
from tickhub.marketdata.ingest.engine._rest import (
    BanListener,
    RateBudget,
    RequestRate,
    RestClient,
    RestError,
)
from tickhub.marketdata.ingest.engine._venue import (
    ConnectorSettings,
    Instruments,
    Venue,
)

__all__ = [
    "CONNECT_ERRORS",
    "DEFAULT_RETRY_AFTER_S",
    "HTTP_TIMEOUT_S",
    "KEEPALIVE_S",
    "BanListener",
    "Connector",
    "ConnectorSettings",
    "FrameError",
    "Gap",
    "Heartbeat",
    "Instruments",
    "Notice",
    "Parsed",
    "ParsedTrade",
    "RateBudget",
    "RequestRate",
    "RestClient",
    "RestError",
    "StreamLink",
    "Venue",
    "backoff_delay",
    "field_amount",
    "field_bool",
    "field_int",
    "field_str",
    "open_stream",
    "retry_after_s",
]
