"""Base types of the API schemas: frozen models and UTC times rendered with a `Z`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema

from tickhub.common.time import format_time

TIME_EXAMPLE = "2026-11-23T15:34:07.123456Z"

UtcTime = Annotated[
    datetime,
    PlainSerializer(format_time, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": [TIME_EXAMPLE]}),
]
"""A datetime serialised as ISO-8601 UTC with a `Z` and six fractional digits."""


class Schema(BaseModel):
    model_config = ConfigDict(frozen=True)
