"""Request bodies as the seed's DRF views read them: JSON, form-encoded or multipart
(DRF's default parsers), unknown fields ignored, and DRF's messages for what does not
hold."""

from __future__ import annotations

import json
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException

from tickhub.accounts.errors import AccountsError, Invalid
from tickhub.common.errors import Unauthorized
from tickhub.problems import challenge, status_of

M = TypeVar("M", bound=BaseModel)
WWW_AUTHENTICATE = challenge(401)


class UnsupportedMediaType(HTTPException):
    """A body neither JSON nor form-encoded: 415, as DRF answers (a matter of HTTP, not of
    the accounts)."""

    def __init__(self, content_type: str) -> None:
        super().__init__(415, f'Unsupported media type "{content_type}" in request.')


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": schema},
            },
        }
    }


async def read(request: Request, model: type[M]) -> M:
    """Parse and validate a body as DRF would, with its error messages."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    data: object
    if content_type == "application/x-www-form-urlencoded":
        data = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    elif content_type == "multipart/form-data":
        data = await _multipart(request)
    elif content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType(content_type)
    elif not raw.strip():
        data = {}
    else:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            detail = f"JSON parse error - {exc}"
            raise Invalid(detail, field="body", seed_data={"detail": detail}) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = drf_errors(exc)
        first = next(iter(errors))
        raise Invalid(f"{first}: {errors[first][0]}", errors=errors) from exc


async def _multipart(request: Request) -> dict[str, str]:
    """DRF's default parsers take multipart bodies too (its test client sends them): the
    text fields, the last value of a repeated one winning (files are ignored)."""
    try:
        form = await request.form()
    except Exception as exc:  # a malformed body, whatever the parser calls it
        detail = f"Multipart form parse error - {exc}"
        raise Invalid(detail, field="body", seed_data={"detail": detail}) from exc
    try:
        return {k: v for k, v in form.multi_items() if isinstance(v, str)}
    finally:
        await form.close()


def drf_errors(exc: ValidationError) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for error in exc.errors():
        loc = error["loc"]
        field = str(loc[0]) if loc else "non_field_errors"
        out.setdefault(field, []).append(_drf_message(error))
    return out


def _drf_message(error: Any) -> str:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "This field is required."
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return f"Invalid data. Expected a dictionary, but got {type(value).__name__}."
    if value is None:
        return "This field may not be null."
    if kind in {"string_too_short", "too_short"}:
        if ctx.get("min_length") == 1:
            return "This field may not be blank."
        return f"Ensure this field has at least {ctx.get('min_length')} characters."
    if kind in {"string_too_long", "too_long"}:
        return f"Ensure this field has no more than {ctx.get('max_length')} characters."
    if kind == "string_type":
        return "Not a valid string."
    if kind in {"bool_parsing", "bool_type"}:
        return "Must be a valid boolean."
    if kind == "greater_than_equal":
        return f"Ensure this value is greater than or equal to {ctx.get('ge')}."
    if kind == "less_than_equal":
        return f"Ensure this value is less than or equal to {ctx.get('le')}."
    if kind == "list_type":
        return f'Expected a list of items but got type "{type(value).__name__}".'
    if kind == "literal_error":
        return f'"{value}" is not a valid choice.'
    return str(error["msg"])


def plain_error(exc: AccountsError | UnsupportedMediaType) -> JSONResponse:
    """The seed's token and reset views answer without the envelope."""
    if isinstance(exc, UnsupportedMediaType):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    if isinstance(exc, Unauthorized):
        body = {"detail": exc.message, "code": "token_not_valid"}
        return JSONResponse(body, status_code=401, headers=WWW_AUTHENTICATE)
    return JSONResponse(exc.seed_data, status_code=status_of(exc).code)
