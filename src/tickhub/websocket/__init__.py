"""What the WebSocket streams (`/v1/stream`, `/v1/alerts/stream`) share: clients with a
bounded send queue and a sender task (`_clients`), the fast path that writes whole frames
straight to the socket (`_direct`), and the endpoint plumbing."""

from tickhub.websocket._clients import (
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL_ERROR,
    CLOSE_NORMAL,
    CLOSE_POLICY,
    CLOSE_TRY_LATER,
    Connection,
    QueuedClient,
    Receive,
    StreamHub,
    StreamStats,
    receiver,
    upgrade_required,
)
from tickhub.websocket._direct import (
    BEHIND_BYTES,
    RAW_SEND_KEY,
    DirectSink,
    RawSend,
    close_frame,
    find_sink,
    text_frame,
)

__all__ = [
    "BEHIND_BYTES",
    "CLOSE_GOING_AWAY",
    "CLOSE_INTERNAL_ERROR",
    "CLOSE_NORMAL",
    "CLOSE_POLICY",
    "CLOSE_TRY_LATER",
    "RAW_SEND_KEY",
    "Connection",
    "DirectSink",
    "QueuedClient",
    "RawSend",
    "Receive",
    "StreamHub",
    "StreamStats",
    "close_frame",
    "find_sink",
    "receiver",
    "text_frame",
    "upgrade_required",
]
