"""Strategies and alert history, per user. Each use case is one unit of work
(`tickhub.alerts.uow`); errors are `AlertsError`s naming the field at fault, which the
router renders as problem+json.

A strategy belongs to the user who made it: another user's strategy or alert is not
found (404), as if it did not exist.

Instruments are checked against the stored instruments and kept as `exchange:SYMBOL`
in the exchange's spelling; the interval is kept as canonical text (`60m` → `1h`) and
seconds; the condition is parsed (never evaluated here) and kept as written.
"""

from __future__ import annotations

from tickhub.alerts import errors
from tickhub.alerts.service._conditions import (
    MAX_INTERVAL_S,
    MIN_INTERVAL_S,
    ConditionCheck,
    canonical,
    check_condition,
    check_listing_fields,
    parse_condition,
    parse_interval,
    resolve_instruments,
)
from tickhub.alerts.service._history import (
    NO_ALERT,
    AlertPageView,
    decode_cursor,
    encode_cursor,
    get_alert,
    list_alerts,
)
from tickhub.alerts.service._strategies import (
    MAX_STRATEGIES,
    NO_STRATEGY,
    StrategyView,
    create_strategy,
    delete_strategy,
    get_strategy,
    list_strategies,
    update_strategy,
)

# The context's errors, where callers have always caught them.
AlertsError = errors.AlertsError
Invalid = errors.Invalid
NotFound = errors.NotFound
Conflict = errors.Conflict

__all__ = [
    "MAX_INTERVAL_S",
    "MAX_STRATEGIES",
    "MIN_INTERVAL_S",
    "NO_ALERT",
    "NO_STRATEGY",
    "AlertPageView",
    "AlertsError",
    "ConditionCheck",
    "Conflict",
    "Invalid",
    "NotFound",
    "StrategyView",
    "canonical",
    "check_condition",
    "check_listing_fields",
    "create_strategy",
    "decode_cursor",
    "delete_strategy",
    "encode_cursor",
    "get_alert",
    "get_strategy",
    "list_alerts",
    "list_strategies",
    "parse_condition",
    "parse_interval",
    "resolve_instruments",
    "update_strategy",
]
