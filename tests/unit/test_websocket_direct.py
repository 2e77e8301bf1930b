"""The fast path's frames and its slow-client rule (`tickhub.websocket._direct`)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from tickhub.websocket import BEHIND_BYTES, DirectSink, close_frame, text_frame

SIZES = [0, 1, 125, 126, 127, 65535, 65536, 200_000]


def client_reading(data: bytes) -> list[Frame]:
    """What a websockets client decodes from `data`, as it would from the socket."""
    client = ClientProtocol(parse_uri("ws://127.0.0.1/v1/stream"), state=State.OPEN)
    client.receive_data(data)
    frames = [e for e in client.events_received() if isinstance(e, Frame)]
    assert client.parser_exc is None
    return frames


@pytest.mark.parametrize("size", SIZES)
def test_a_text_frame_is_what_websockets_itself_builds(size: int) -> None:
    text = ("é" * size)[:size] if size % 2 else "x" * size
    payload = text.encode()
    assert text_frame(text) == Frame(Opcode.TEXT, payload).serialize(mask=False)
    assert text_frame(payload) == text_frame(text)
    [frame] = client_reading(text_frame(text))
    assert frame.opcode is Opcode.TEXT and frame.fin and frame.data == payload


def test_frames_joined_in_one_write_are_read_one_by_one() -> None:
    texts = [f'{{"n":{i},"pad":"{"y" * (i * 97)}"}}' for i in range(40)]
    frames = client_reading(b"".join(text_frame(t) for t in texts))
    assert [bytes(f.data).decode() for f in frames] == texts


def test_a_close_frame_is_what_websockets_builds() -> None:
    expected = Frame(Opcode.CLOSE, Close(1008, "too slow").serialize()).serialize(mask=False)
    assert close_frame(1008, "too slow") == expected


class FakeProtocol:
    close_sent = False
    disconnected = False


class Transport(asyncio.Transport):
    """A socket whose peer reads `drains` bytes after each write (none: a stalled peer)."""

    def __init__(self, drains: int | None = None) -> None:
        super().__init__()
        self.drains = drains
        self.buffer = 0
        self.writes: list[bytes] = []
        self.aborted = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))
        self.buffer += len(data)
        if self.drains is None:
            self.buffer = 0
        else:
            self.buffer = max(0, self.buffer - self.drains)

    def get_write_buffer_size(self) -> int:
        return self.buffer

    def is_closing(self) -> bool:
        return self.aborted

    def abort(self) -> None:
        self.aborted = True


def test_a_sink_past_its_buffer_limit_is_too_slow() -> None:
    transport = Transport(drains=0)
    sink = DirectSink(FakeProtocol(), transport, max_buffer=BEHIND_BYTES * 4, timeout_s=3600)
    chunk = b"z" * (BEHIND_BYTES // 2)
    reasons = [sink.write(chunk, now=float(i)) for i in range(9)]
    assert reasons[:8] == [None] * 8  # up to the limit: behind, but kept
    assert reasons[8] is not None and reasons[8].startswith("too slow: over")


def test_a_sink_behind_for_longer_than_the_timeout_is_too_slow() -> None:
    transport = Transport(drains=1000)  # reads, but less than it is sent
    sink = DirectSink(FakeProtocol(), transport, max_buffer=2**30, timeout_s=5)
    chunk = b"z" * (BEHIND_BYTES + 1000)
    assert sink.write(chunk, now=0.0) is None
    assert sink.write(chunk, now=1.0) is None  # behind since 1.0
    assert sink.behind_since == 1.0
    assert sink.write(chunk, now=6.0) is None  # 5 s: not over yet
    reason = sink.write(chunk, now=6.5)
    assert reason is not None and reason.startswith("too slow: behind")


def test_a_sink_that_catches_up_is_no_longer_behind() -> None:
    transport = Transport(drains=0)
    sink = DirectSink(FakeProtocol(), transport, max_buffer=2**30, timeout_s=5)
    assert sink.write(b"z" * (BEHIND_BYTES + 1), now=0.0) is None
    assert sink.behind_since == 0.0
    transport.buffer = 0  # the peer read it all
    assert sink.write(b"z", now=100.0) is None
    assert sink.behind_since is None


def test_nothing_is_written_once_the_close_began() -> None:
    transport = Transport()
    protocol = FakeProtocol()
    sink = DirectSink(protocol, transport, max_buffer=2**20, timeout_s=5)
    protocol.close_sent = True
    assert sink.write(b"z", now=0.0) is None
    assert transport.writes == []


def test_a_sink_behind_holds_the_shared_bytes_and_sends_them_in_order_later() -> None:
    transport = Transport(drains=0)
    sink = DirectSink(FakeProtocol(), transport, max_buffer=2**30, timeout_s=3600)
    first = b"a" * (BEHIND_BYTES + 1)
    assert sink.write(first, now=0.0) is None  # written: the transport is now behind
    later = [bytes([65 + i]) * 1000 for i in range(1, 4)]
    for data in later:
        assert sink.write(data, now=1.0) is None
    assert transport.writes == [first]  # nothing more given to the transport's buffer
    assert all(h is d for h, d in zip(sink.held, later, strict=True))  # not copied
    assert sink.buffered() == len(first) + 3000
    transport.buffer = 0  # the peer read what the transport had
    assert sink.write(b"", now=2.0) is None
    assert b"".join(transport.writes) == first + b"".join(later)
    assert sink.held == [] and sink.behind_since is None
