"""Errors over HTTP: the one mapping from a domain error's kind to its status, the
`application/problem+json` body (RFC 9457) of `/v1` and of every path no seed contract
owns, and the lookup of a path's envelope for errors raised outside any route.

The seed contracts' own envelopes are declared by `tickhub.compat` (one per compat
module, with the path roots it owns); `create_app` collects them into `Envelopes`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, Protocol

from starlette.responses import JSONResponse, Response

from tickhub.common.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotAcceptable,
    NotFound,
    Unauthorized,
    Unavailable,
    Unprocessable,
)

PROBLEM_JSON = "application/problem+json"


class Status(NamedTuple):
    code: int
    title: str


# The one mapping from kind to status; a subclass answers as the nearest kind it derives
# from, and a bare `DomainError` as bad input.
STATUSES: Mapping[type[DomainError], Status] = {
    DomainError: Status(400, "Bad Request"),
    Invalid: Status(400, "Bad Request"),
    Unprocessable: Status(422, "Unprocessable Content"),
    Unauthorized: Status(401, "Unauthorized"),
    Forbidden: Status(403, "Forbidden"),
    NotFound: Status(404, "Not Found"),
    NotAcceptable: Status(406, "Not Acceptable"),
    Conflict: Status(409, "Conflict"),
    Unavailable: Status(503, "Service Unavailable"),
}


def status_of(exc: DomainError) -> Status:
    """The status of an error's kind: the first class of its MRO that has one."""
    for cls in type(exc).__mro__:
        status = STATUSES.get(cls)
        if status is not None:
            return status
    raise AssertionError("unreachable: every DomainError derives from DomainError")


def challenge(status: int) -> dict[str, str] | None:
    """The headers a status carries: a 401 says how to authenticate."""
    return {"WWW-Authenticate": 'Bearer realm="api"'} if status == 401 else None


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    extra: Mapping[str, object] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if field is not None:
        body["field"] = field
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_problem(exc: DomainError) -> JSONResponse:
    """A domain error as a problem document: its kind's status and title, its message,
    the field at fault and the error's details as extension members."""
    status = status_of(exc)
    return problem(
        status.code,
        status.title,
        exc.message,
        field=exc.field,
        extra=exc.details,
        headers=challenge(status.code),
    )


# ---------------------------------------------------------------- envelopes by path


class Envelope(Protocol):
    """A seed contract's error body, on the paths under its roots."""

    @property
    def roots(self) -> tuple[str, ...]: ...

    def error(self, status: int, detail: str, *, headers: dict[str, str] | None = None) -> Response:
        """An error raised outside the contract's routes, in its envelope."""
        ...


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + "/")


class Envelopes:
    """Which envelope a path's errors take: the one whose root is the longest prefix of the
    path (`/api/current_price` is seed 004's inside seed 003's `/api`), problem+json on
    paths no envelope owns. For errors raised before or outside a route: the gateway's
    limits, an unknown path or method, a crash."""

    def __init__(self, envelopes: Iterable[Envelope] = ()) -> None:
        roots: dict[str, Envelope] = {}
        for envelope in envelopes:
            for root in envelope.roots:
                if root in roots:
                    raise ValueError(f"two envelopes declare the path root {root!r}")
                roots[root] = envelope
        self._roots = sorted(roots.items(), key=lambda item: len(item[0]), reverse=True)

    def of(self, path: str) -> Envelope | None:
        path = path.rstrip("/") or "/"
        return next((e for root, e in self._roots if _under(path, root)), None)

    def error(
        self,
        path: str,
        status: int,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """An error in the envelope the path's clients read."""
        envelope = self.of(path)
        if envelope is None:
            return problem(status, title, detail, headers=headers)
        return envelope.error(status, detail, headers=headers)
