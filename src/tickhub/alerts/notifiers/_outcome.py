"""The result of one delivery attempt, whatever the channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# At most this much of a receiver's answer is kept in `last_error`.
ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class Outcome:
    """`sent`: done. `retry`: try again later (after at least `retry_after_s` when the
    receiver asked for it). `failed`: trying again cannot help.

    `status` is the receiver's answer code (HTTP status, or the SMTP reply code); `error`
    says what went wrong and never holds a secret or a token."""

    kind: Literal["sent", "retry", "failed"]
    status: int | None = None
    error: str | None = None
    retry_after_s: float | None = None

    @classmethod
    def sent(cls, status: int | None) -> Outcome:
        return cls("sent", status)

    @classmethod
    def retry(
        cls, error: str, status: int | None = None, retry_after_s: float | None = None
    ) -> Outcome:
        return cls("retry", status, clip(error), retry_after_s)

    @classmethod
    def failed(cls, error: str, status: int | None = None) -> Outcome:
        return cls("failed", status, clip(error))


def clip(text: str, limit: int = ERROR_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def exception_text(exc: BaseException) -> str:
    """`ConnectError: [Errno 111] Connection refused`; the type alone when it says nothing."""
    detail = str(exc).strip()
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
