"""The public-route list, link redaction, settings merge and DRF-style error words."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tickhub.accounts.schemas import RegisterIn
from tickhub.accounts.service import merge_patch
from tickhub.compat.predico import drf_errors
from tickhub.market.schemas import ResourceIn
from tickhub.public import is_public, redact_path


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/healthz"),
        ("HEAD", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/v1/prices/binance/BTCUSDT"),
        ("GET", "/v1/prices/binance/BTCUSDT/"),
        ("GET", "/price-history-minutes/120 minute/BTCUSDT"),
        ("WEBSOCKET", "/v1/stream"),
        ("POST", "/api/user/register"),
        ("GET", "/api/user/verify/YWRh/eyJ.x.y"),
        ("POST", "/api/token"),
        ("POST", "/api/token/refresh"),
        ("PATCH", "/api/user/password-reset-complete"),
    ],
)
def test_public(method: str, path: str) -> None:
    assert is_public(method, path)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/prices"),
        ("DELETE", "/api/user/register"),
        ("GET", "/api/user/resource"),
        ("GET", "/api/user/verify/a/b/c"),
        ("GET", "/v1/me"),
        ("GET", "/v1/pricesX"),
        ("GET", "/healthz/../v1/me"),
        ("GET", "/v1/api-keys"),
        ("WEBSOCKET", "/v1/other"),
        ("GET", "/anything-new"),
    ],
)
def test_private(method: str, path: str) -> None:
    assert not is_public(method, path)


def test_redact_path() -> None:
    assert redact_path("/api/user/verify/YWRh/eyJhbG.eyJz.sig") == "/api/user/verify/YWRh/***"
    assert (
        redact_path("/api/user/password-reset-confirm/dTE/eyJ.x.y/")
        == "/api/user/password-reset-confirm/dTE/***/"
    )
    assert redact_path("/v1/prices") == "/v1/prices"


def test_merge_patch_rfc_7396() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}}
    assert merge_patch(target, {"a": "z", "c": {"f": None}}) == {"a": "z", "c": {"d": "e"}}
    assert merge_patch({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}
    assert merge_patch({"a": 1}, {"b": {"c": None}}) == {"a": 1, "b": {}}
    assert target == {"a": "b", "c": {"d": "e", "f": "g"}}  # not changed in place


def test_drf_error_words() -> None:
    with pytest.raises(ValidationError) as caught:
        RegisterIn.model_validate(
            {"email": None, "password": True, "first_name": 12, "last_name": "x" * 31}
        )
    assert drf_errors(caught.value) == {
        "email": ["This field may not be null."],
        "password": ["Not a valid string."],
        "last_name": ["Ensure this field has no more than 30 characters."],
    }
    with pytest.raises(ValidationError) as caught:
        ResourceIn.model_validate({"name": "  ", "type": None, "to_forecast": []})
    assert drf_errors(caught.value) == {
        "name": ["This field may not be blank."],
        "type": ["This field may not be null."],
        "to_forecast": ["Must be a valid boolean."],
    }
