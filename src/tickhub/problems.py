"""Error bodies: `application/problem+json` (RFC 9457) for `/v1`, and the seeds' own
envelopes on their paths."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
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
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


# Seed paths whose clients expect the seed's own error body (DESIGN.md: every seed path keeps
# its envelope). Anything else gets problem+json.
_SEED_004_PREFIXES = ("/api/current_price", "/api/crypto_price")  # DRF: {"detail": ...}
_SEED_003_PREFIXES = ("/api",)  # Predico: {"code", "status": "error", "data", "message"}
_SEED_000_001_PREFIXES = (  # Flask: {"error": ...}
    "/session",
    "/crypto",
    "/symbols",
    "/exchanges",
    "/tickers",
    "/price-history-minutes",
)


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def error_for_path(
    path: str,
    status: int,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An error raised outside the routes (gateway limits, a crash) in the envelope that
    the path's clients read: the seed's own on seed paths, problem+json elsewhere."""
    path = path.rstrip("/") or "/"
    if _under(path, _SEED_004_PREFIXES):
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)
    if _under(path, _SEED_003_PREFIXES):
        return seed_error(status, message=detail, headers=headers)
    if _under(path, _SEED_000_001_PREFIXES):
        return JSONResponse({"error": detail}, status_code=status, headers=headers)
    return problem(status, title, detail, headers=headers)


# ---------------------------------------------------------------- seed 003 envelope

SEED_VALIDATION_MESSAGE = (
    "Validation error. Please re-check your request parameters or body fields and fix "
    "the errors mentioned in this response 'data' field."
)


def seed_ok(data: Any, status: int = 200) -> JSONResponse:
    """Seed 003 success: `{"code", "data"}`."""
    return JSONResponse({"code": status, "data": data}, status_code=status)


def seed_error(
    status: int,
    *,
    message: str | None = None,
    data: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Seed 003 error: `{"code", "data", "status": "error", "message"}`.

    As the seed's renderer does, a 400 always carries the fixed validation message with
    the field errors in `data`; other errors carry their message and `data: null`.
    """
    body: dict[str, Any] = {"code": status, "data": data, "status": "error"}
    if status == 400:
        body["message"] = SEED_VALIDATION_MESSAGE
    elif message is not None:
        body["message"] = message
    return JSONResponse(body, status_code=status, headers=headers)
