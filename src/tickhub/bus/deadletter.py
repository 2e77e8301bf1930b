"""Dead letters of the in-memory bus kept on disk, so that a message a handler kept
failing on is never held only in memory (a restart would lose it).

One JSON object per line: `topic`, `group` (the subscribers' group), `error`, `at` (UTC,
ISO-8601) and `message`, the message as the bus's codec writes it. `tickhub deadletter
replay` hands the writer's entries to a writer again and keeps only those that fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from tickhub.bus.base import Message
from tickhub.bus.codec import Codec, CodecError


@dataclass(frozen=True, slots=True)
class DeadLetterEntry:
    topic: str
    group: str
    error: str
    at: str
    document: object  # the codec's JSON document of the message

    def line(self) -> bytes:
        doc = {
            "topic": self.topic,
            "group": self.group,
            "error": self.error,
            "at": self.at,
            "message": self.document,
        }
        return orjson.dumps(doc) + b"\n"


class DeadLetterFile:
    def __init__(self, path: Path, codec: Codec) -> None:
        self.path = path
        self._codec = codec
        self._lock = asyncio.Lock()

    async def write(self, *, topic: str, group: str, message: Message, error: str) -> None:
        """Append one message and flush it to disk before returning."""
        try:
            document: object = orjson.loads(self._codec.encode(message))
        except CodecError as exc:  # not a tickhub event: keep what can be said of it
            document = {"unencodable": repr(message)[:10_000], "why": str(exc)}
        at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        entry = DeadLetterEntry(topic, group, error[:2000], at, document)
        async with self._lock:
            await asyncio.to_thread(self._append, [entry.line()])

    def _append(self, lines: list[bytes]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as f:
            f.writelines(lines)
            f.flush()
            os.fsync(f.fileno())

    def entries(self) -> list[DeadLetterEntry]:
        """What the file holds (nothing when it does not exist)."""
        if not self.path.exists():
            return []
        out: list[DeadLetterEntry] = []
        for raw in self.path.read_bytes().splitlines():
            if not raw.strip():
                continue
            doc = orjson.loads(raw)
            out.append(
                DeadLetterEntry(
                    str(doc["topic"]),
                    str(doc.get("group", "")),
                    str(doc.get("error", "")),
                    str(doc.get("at", "")),
                    doc.get("message"),
                )
            )
        return out

    def decode(self, entry: DeadLetterEntry) -> Message:
        """The message of an entry; raises `CodecError` when it cannot be read back."""
        return self._codec.decode(orjson.dumps(entry.document))

    async def replay(
        self, group: str, handler: Callable[[str, Message], Awaitable[None]]
    ) -> tuple[int, int]:
        """Hand every entry of `group` to `handler`, in order; those it handles leave the
        file, the others (and other groups' entries) stay. Returns (handled, kept)."""
        async with self._lock:
            kept: list[DeadLetterEntry] = []
            handled = 0
            for entry in self.entries():
                if entry.group != group:
                    kept.append(entry)
                    continue
                try:
                    await handler(entry.topic, self.decode(entry))
                except Exception as exc:
                    error = f"replay: {exc!r}"[:2000]
                    kept.append(
                        DeadLetterEntry(entry.topic, entry.group, error, entry.at, entry.document)
                    )
                    continue
                handled += 1
            await asyncio.to_thread(self._rewrite, kept)
            return handled, len(kept)

    def _rewrite(self, entries: list[DeadLetterEntry]) -> None:
        if not entries:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("wb") as f:
            f.writelines(e.line() for e in entries)
            f.flush()
            os.fsync(f.fileno())
        temporary.replace(self.path)
