"""Log redaction: a filter on the handlers that blanks secrets in any record, whoever
wrote it (belt and braces: the access log never holds them in the first place)."""

from __future__ import annotations

import atexit
import logging
import queue
import re
import sys
from logging.handlers import QueueHandler, QueueListener
from typing import IO, Any

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


class QueuedStreamHandler(QueueHandler):
    """The access log off the request path: a request only queues its record; a
    background thread filters it (redaction), formats it and writes it to the stream, so
    neither the JSON text, nor the redaction, nor a slow stdout delays an answer. Nothing
    is dropped: the queue is unbounded and drained at exit.

    The filters and the formatter given to this handler are the writer's: a record's
    message is read in that thread, so what a record holds must not change after it is
    logged (the access log's lines never do)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        super().__init__(records)
        self.target = logging.StreamHandler(sys.stdout if stream is None else stream)
        self.target.filters = self.filters  # one list: what is added here, the writer runs
        self.listener = QueueListener(records, self.target)
        self.listener.start()
        atexit.register(self.listener.stop)

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: ARG002 - the writer filters
        return True  # the target shares this handler's filters and runs them

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        self.target.setFormatter(fmt)

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record  # formatted by the writer thread, not here

    def close(self) -> None:
        atexit.unregister(self.listener.stop)
        if self.listener._thread is not None:  # a second stop() would fail
            self.listener.stop()
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
                "stream": "ext://sys.stderr",
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
