"""The strategy condition language: parse once, evaluate vectorised over candle history.

A condition like ``rsi(14) < 30 and close > sma(close, 50)`` is tokenized and parsed by hand
into a small typed tree (no ``eval``, no Python ``ast``); anything outside the grammar is a
`ConditionError` carrying the reason and the 0-based character position.

`evaluate` decides one condition at every candle and `explain` gives the values behind it;
an `Evaluation` decides many conditions over one history at chosen candles, computing
each shared sub-expression once (the strategy scanner's case).
"""

from tickhub.alerts.language._evaluate import Evaluation, evaluate, explain, render
from tickhub.alerts.language._functions import FUNCTIONS, MAX_PERIOD
from tickhub.alerts.language._lexer import MAX_SOURCE, ConditionError
from tickhub.alerts.language._parser import MAX_DEPTH, MAX_NODES, parse
from tickhub.alerts.language._tree import (
    LISTING_SERIES,
    MARKET_SERIES,
    NAMES,
    SERIES,
    Binary,
    Call,
    Condition,
    Node,
    Number,
    Series,
    Unary,
)

__all__ = [
    "FUNCTIONS",
    "LISTING_SERIES",
    "MARKET_SERIES",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_PERIOD",
    "MAX_SOURCE",
    "NAMES",
    "SERIES",
    "Binary",
    "Call",
    "Condition",
    "ConditionError",
    "Evaluation",
    "Node",
    "Number",
    "Series",
    "Unary",
    "evaluate",
    "explain",
    "parse",
    "render",
]
