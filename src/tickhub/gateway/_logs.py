"""Log redaction: a filter on the handlers that blanks secrets in any record, whoever
wrote it (belt and braces: the access log never holds them in the first place)."""

from __future__ import annotations

import atexit
import logging
import queue
import re
import sys
import threading
import time
import traceback
from typing import IO, Any

from tickhub.gateway._access import AccessFields, access_text

_MASK = "***"
# password, client_secret, access_token, api_key, X-API-Key ... and the bare words that
# seed 003's token bodies use ("access", "refresh"), followed by `:` or `=`.
_KEY = (
    r"[A-Za-z0-9_-]*(?:passw(?:or)?d|secret|token|api[_-]?key)[A-Za-z0-9_-]*"
    r"|access|refresh|authorization|cookie"
)
_PAIR = re.compile(
    rf"""(?P<key>["']?\b(?:{_KEY})["']?\s*[:=]\s*)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|(?:Bearer|Basic)\s+[^\s"',;&]+"""
    r"""|[^\s"',;&)}\]]+)""",
    re.IGNORECASE,
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")


# Every key `_PAIR` matches holds one of these (in any case), and every token `_JWT`
# matches starts with "eyJ": ASCII text without them has nothing to mask, and is passed
# without running the patterns (most lines: the access log's all are).
_KEY_WORDS = ("passw", "secret", "token", "key", "access", "refresh", "authorization", "cookie")


def redact(text: str) -> str:
    if text.isascii() and "eyJ" not in text:
        lowered = text.lower()
        if not any(word in lowered for word in _KEY_WORDS):
            return text

    def mask(m: re.Match[str]) -> str:
        value = m["value"]
        quote = value[0] if value[0] in "\"'" else ""
        return f"{m['key']}{quote}{_MASK}{quote}"

    return _JWT.sub(_MASK, _PAIR.sub(mask, text))


class RedactFilter(logging.Filter):
    """Blanks passwords, tokens, secrets, API keys and Authorization values in a record's
    message (arguments included) and in its formatted traceback. Never drops a record."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the handler's to report
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_REDACTED_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "tickhub")


def install_log_redaction() -> None:
    """Puts the filter on the handlers present now (root, uvicorn's, tickhub's); idempotent."""
    for name in _REDACTED_LOGGERS:
        for handler in logging.getLogger(name or None).handlers:
            if not any(isinstance(f, RedactFilter) for f in handler.filters):
                handler.addFilter(RedactFilter())


class StandardStream:
    """`sys.stdout` or `sys.stderr` as it is when a line is written, not as it was when
    logging was configured: a command run inside another program (a test runner's
    captured output, `typer`'s `CliRunner`) may swap the stream and close it after, and
    the handlers must then write to what replaced it."""

    def __init__(self, name: str) -> None:
        if name not in ("stdout", "stderr"):
            raise ValueError(f"not a standard stream: {name}")
        self.name = name

    def write(self, text: str) -> int:
        stream: IO[str] = getattr(sys, self.name)
        return stream.write(text)

    def flush(self) -> None:
        stream: IO[str] = getattr(sys, self.name)
        stream.flush()


class QueuedStreamHandler(logging.Handler):
    """The access log off the request path: a request only queues its line; a background
    thread makes it into text, redacts it and writes it, so neither the JSON text, nor the
    redaction, nor a slow stdout delays an answer. Nothing is dropped: the queue is
    unbounded and drained at close and at exit, and lines are written in the order they
    were queued, each whole on a line of its own.

    The queue takes log records (`emit`: whoever logs on the handler's loggers) and the
    access log's bare fields (`put_fields`, from `TelemetryMiddleware`: no `LogRecord`,
    no `Formatter`). The writer takes what has gathered since its last write, turns each
    into a line and writes them with one `write` and one `flush`, then pauses
    `GATHER_S`: under load, one wake-up and one system call serve many requests.

    The filters and the formatter given to this handler are the writer's: a record's
    message is read in that thread, so what a record holds must not change after it is
    logged (the access log's lines never do). Fields lines are the bare message through
    `redact` only, so `takes_fields` is False as soon as a filter of another kind or a
    formatter that adds to the message is set."""

    _STOP = object()
    BATCH = 1024  # lines per write at most
    GATHER_S = 0.01  # the pause after each write: how long a line may wait for the next one

    def __init__(self, stream: IO[str] | None = None) -> None:
        super().__init__()
        self.stream = StandardStream("stdout") if stream is None else stream
        self.target = logging.StreamHandler(self.stream)  # holds the formatter
        self.target.filters = self.filters  # one list: what is added here, the writer runs
        self.takes_fields = True  # see `_note_filters`
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._put = self._queue.put
        self._thread: threading.Thread | None = threading.Thread(
            target=self._write_all, name="tickhub-access-log", daemon=True
        )
        self._thread.start()
        atexit.register(self._stop)

    def addFilter(self, filter: Any) -> None:
        super().addFilter(filter)
        self._note_filters()

    def removeFilter(self, filter: Any) -> None:
        super().removeFilter(filter)
        self._note_filters()

    def _note_filters(self) -> None:
        fmt = self.target.formatter
        plain = fmt is None or (type(fmt) is logging.Formatter and fmt._fmt == "%(message)s")
        self.takes_fields = plain and all(isinstance(f, RedactFilter) for f in self.filters)

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        self.target.setFormatter(fmt)
        self._note_filters()

    def handle(self, record: logging.LogRecord) -> bool:
        self._put(record)  # filtered by the writer thread, not here
        return True

    def emit(self, record: logging.LogRecord) -> None:
        self._put(record)

    def put_fields(self, fields: AccessFields) -> None:
        """Queues an access line given as its fields (see `_access.access_text`)."""
        self._put(fields)

    def _write_all(self) -> None:
        get, get_nowait = self._queue.get, self._queue.get_nowait
        stopping = False
        while not stopping:
            batch = [get()]
            try:
                while len(batch) < self.BATCH:
                    batch.append(get_nowait())
            except queue.Empty:
                pass
            lines = []
            for item in batch:
                if item is self._STOP:
                    stopping = True
                elif (line := self._line(item)) is not None:
                    lines.append(line)
            if lines:
                self._write("\n".join(lines) + "\n")
            if not stopping:
                # Lines gather while the writer sleeps: a request's `put` then wakes no
                # thread (no system call, no switch), and the next write takes them all.
                time.sleep(self.GATHER_S)

    def _line(self, item: AccessFields | logging.LogRecord) -> str | None:
        """The text of a queued line; None for a record the filters refuse or one that
        cannot be formatted (said on stderr, as `logging` does)."""
        if type(item) is tuple:
            try:
                return redact(access_text(item))
            except Exception:
                item = self._record(item)
        record: logging.LogRecord = item  # type: ignore[assignment]
        try:
            if not self.target.filter(record):
                return None
            return self.target.format(record)
        except Exception:
            self.handleError(record)
            return None

    @staticmethod
    def _record(fields: AccessFields) -> logging.LogRecord:
        return logging.LogRecord("tickhub.access", logging.INFO, __file__, 0, "%r", (fields,), None)

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception:  # a closed or broken stream: said on stderr, never raised
            if logging.raiseExceptions and sys.stderr is not None:
                print("--- Logging error: the access log's stream failed", file=sys.stderr)
                traceback.print_exc(file=sys.stderr)

    def _stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._put(self._STOP)
            thread.join()

    def close(self) -> None:
        atexit.unregister(self._stop)
        self._stop()  # writes what is queued
        super().close()


def logging_config(level: str) -> dict[str, Any]:
    """`logging.config.dictConfig` for the tickhub commands and for uvicorn (its
    `log_config`): every handler redacts, access lines are bare JSON on stdout (written by
    a background thread), the rest goes to stderr. uvicorn's own access log is off: ours
    replaces it."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactFilter}},
        "formatters": {
            "default": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"},
            "access": {"format": "%(message)s"},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["redact"],
                "stream": StandardStream("stderr"),
            },
            "access": {
                "()": "tickhub.gateway._logs.QueuedStreamHandler",
                "formatter": "access",
                "filters": ["redact"],
            },
        },
        "loggers": {
            "tickhub.access": {"handlers": ["access"], "propagate": False},
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
        "root": {"handlers": ["default"], "level": level.upper()},
    }
