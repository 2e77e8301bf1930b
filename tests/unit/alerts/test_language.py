from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import numpy as np
import pytest
import talib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickhub.alerts.language import (
    FUNCTIONS,
    MAX_SOURCE,
    SERIES,
    Binary,
    Call,
    ConditionError,
    Number,
    Series,
    Unary,
    evaluate,
    explain,
    parse,
    render,
)


def error(text: str) -> ConditionError:
    with pytest.raises(ConditionError) as info:
        parse(text)
    return info.value


def python_calls(work: Callable[[], object]) -> int:
    """How many Python function calls `work` makes: a measure of the work done that does
    not depend on how loaded the machine is (a ConditionError counts as done)."""
    calls = 0

    def count(_frame: object, event: str, _arg: object) -> None:
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(count)
    try:
        work()
    except ConditionError:
        pass
    finally:
        sys.setprofile(None)
    return calls


def candles(close: list[float] | np.ndarray) -> dict[str, np.ndarray]:
    x = np.asarray(close, dtype=np.float64)
    return {
        "open": x,
        "high": x + 1,
        "low": x - 1,
        "close": x,
        "volume": np.ones_like(x),
        "vwap": x,
        "trade_count": np.ones_like(x),
    }


# -- grammar -------------------------------------------------------------------------------


def test_precedence_or_binds_looser_than_and_and_not() -> None:
    root = parse("close > 1 or close > 2 and not close > 3").root
    assert isinstance(root, Binary) and root.op == "or"
    assert isinstance(root.right, Binary) and root.right.op == "and"
    assert isinstance(root.right.right, Unary) and root.right.right.op == "not"
    assert render(root) == "((close > 1) or ((close > 2) and not ((close > 3))))"


def test_arithmetic_precedence_and_associativity() -> None:
    root = parse("close - 1 - 2 * -open / 4 > 0").root
    assert render(root) == "(((close - 1) - ((2 * -(open)) / 4)) > 0)"


def test_issue_example_parses_with_positions_and_lookback() -> None:
    cond = parse("rsi(14) < 30 and close > sma(close, 50)")
    assert cond.source == "rsi(14) < 30 and close > sma(close, 50)"
    assert cond.series == frozenset({"close"})
    assert cond.lookback == 50  # sma(50) needs 49 earlier candles, plus the current one
    assert cond.root == Binary(
        "and",
        Binary("<", Call("rsi", (Number(14),)), Number(30)),
        Binary(">", Series("close"), Call("sma", (Series("close"), Number(50)))),
    )
    assert isinstance(cond.root, Binary) and cond.root.position == 13


def test_nested_lookback_adds_warmups() -> None:
    assert parse("sma(rsi(14), 5) > 50").lookback == 14 + 4 + 1
    assert parse("macd(12, 26, 9) > 0").lookback == 25 + 8 + 1
    assert parse("atr(14) > 1").series == frozenset({"high", "low", "close"})


ARITY_CASES = [
    ("rsi() < 3", 0, "got 0 arguments"),
    ("rsi(close, 14, 2) < 3", 0, "got 3 arguments"),
    ("sma(14) > 1", 0, "sma(series, n)"),
    ("close > ema(close)", 8, "ema(series, n)"),
    ("wma(close, 1, 2) > 1", 0, "wma(series, n)"),
    ("macd(12, 26) > 0", 0, "macd(fast, slow, signal)"),
    ("macd_signal(close) > 0", 0, "got 1 argument"),
    ("macd_hist(close, 1, 2, 3, 4) > 0", 0, "got 5 arguments"),
    ("bbands_upper(close, 20) > 1", 0, "series, n, k"),
    ("bbands_middle(close) > 1", 0, "bbands_middle"),
    ("bbands_lower(close, 20, 2, 1) > 1", 0, "bbands_lower"),
    ("atr(close, 14) > 1", 0, "atr(n)"),
    ("stddev(close) > 1", 0, "stddev"),
    ("roc(close) > 1", 0, "roc"),
    ("highest(close) > 1", 0, "highest"),
    ("lowest(close) > 1", 0, "lowest"),
    ("crosses_above(close)", 0, "crosses_above(a, b)"),
    ("crosses_below(close, open, high)", 0, "crosses_below(a, b)"),
    ("change(close) > 1", 0, "change"),
]


@pytest.mark.parametrize(("text", "position", "fragment"), ARITY_CASES)
def test_arity_errors(text: str, position: int, fragment: str) -> None:
    err = error(text)
    assert err.position == position
    assert fragment in err.message


def test_every_function_has_an_arity_case() -> None:
    covered = {t.split("(")[0].split(" ")[-1] for t, _, _ in ARITY_CASES}
    assert covered >= set(FUNCTIONS)


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("sma(close, 0) > 1", 11, "from 2 to 1000"),
        ("sma(close, 1001) > 1", 11, "from 2 to 1000"),
        ("sma(close, 2.5) > 1", 11, "whole number"),
        ("sma(close, open) > 1", 11, "number literal"),
        ("sma(close, -3) > 1", 11, "number literal"),
        ("rsi(1) > 1", 4, "from 2"),
        ("roc(close, 0) > 1", 11, "from 1"),
        ("bbands_upper(close, 20, 0) > 1", 24, "above 0"),
        ("bbands_upper(close, 20, 11) > 1", 24, "at most 10"),
        ("macd(26, 12, 9) > 1", 5, "fast < slow"),
        ("sma(close > 1, 5) > 1", 10, "needs a number"),
        ("crosses_above(close > 1, open)", 20, "needs a number"),
    ],
)
def test_argument_errors(text: str, position: int, fragment: str) -> None:
    err = error(text)
    assert (err.position, fragment in err.message) == (position, True)


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("foo > 1", 0, "unknown name 'foo'"),
        ("close > foo(1)", 8, "unknown function 'foo'"),
        ("close(1) > 1", 0, "is a series"),
        ("sma > 1", 0, "is a function"),
        ("close > 1 and", 13, "expected a value"),
        ("", 0, "empty"),
        ("close", 0, "true or false"),
        ("rsi(14) + 1", 0, "true or false"),
        ("(close > 1) < 3", 7, "needs a number"),
        ("close + (open > 1) > 3", 14, "needs a number"),
        ("rsi(14) and close > 1", 0, "needs a boolean"),
        ("not close", 4, "needs a boolean"),
        ("close > 1 close", 10, "unexpected 'close'"),
        ("close > 1 > 0", 10, "cannot be chained"),
        ("close = 1", 6, "use =="),
        ("CLOSE > 1", 0, "unexpected character"),
        ("(close > 1", 10, "expected ')'"),
        ("close > 1)", 9, "unexpected ')'"),
        ("sma(close 5) > 1", 10, "expected ',' or ')'"),
        ("and > 1", 0, "unexpected keyword"),
    ],
)
def test_name_and_type_errors(text: str, position: int, fragment: str) -> None:
    err = error(text)
    assert err.position == position, err
    assert fragment in err.message


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("__import__('os')", 11),
        ("close.__class__ > 1", 5),
        ("().__class__", 2),
        ("x[0]", 1),
        ("lambda: 1", 6),
        ("lambda > 1", 0),
        ("'close' > 1", 0),
        ('"a" > 1', 0),
        ("close > 1; close < 2", 9),
        ("`close` > 1", 0),
        ("close > 1e308", 9),
        ("close > 12345678901234567890", 8),
        ("close > 1.2.3", 11),
        ("close > 1_000", 9),
        ("close > .5", 8),
        ("close > 5.", 10),
        ("exec('1') > 1", 5),
        ("getattr(close, 'x') > 1", 15),
        ("close @ open > 1", 6),
        ("close ** 2 > 1", 7),
        ("close > 1 \\\n", 10),
        ("close > 1 # comment", 10),
        ("clos\u0435 > 1", 4),
    ],
)
def test_hostile_inputs_are_rejected_with_a_position(text: str, position: int) -> None:
    assert error(text).position == position


def test_hostile_names_that_lex_are_unknown() -> None:
    err = error("__import__ > 1")
    assert (err.position, "unknown name" in err.message) == (0, True)
    assert error("__builtins__(1) > 1").position == 0


@pytest.mark.parametrize(
    "text",
    [
        "close > 1 and " * 100 + "close > 1",
        "(" * 1000,
        "(" * 500 + "close > 1" + ")" * 490,
        "-" * 999 + "1",
        "not " * 249 + "close > 1",
        "close" + " + close" * 120 + " > 1",
        "c" * 10_000,
        "x" * 40 + " > 1",
    ],
)
def test_huge_and_deep_inputs_fail_fast(text: str) -> None:
    # Bounded work: a few calls per character of the limit, never the input's size.
    assert python_calls(lambda: parse(text)) <= 4 * MAX_SOURCE
    err = error(text)
    assert 0 <= err.position <= MAX_SOURCE
    assert any(w in err.message for w in ("too", "deeply", "large"))


def test_limit_boundaries() -> None:
    assert error("c" * 10_000).position == MAX_SOURCE
    parse("(" * 31 + "close > 1" + ")" * 31)
    assert "deeply" in error("(" * 33 + "close > 1" + ")" * 33).message
    parse("close" + " + close" * 29 + " > 1")  # tree depth 31
    assert "deeply" in error("close" + " + close" * 31 + " > 1").message


def balanced(leaves: int) -> str:
    return "1" if leaves == 1 else f"({balanced(leaves // 2)} + {balanced(leaves - leaves // 2)})"


def test_node_limit() -> None:
    parse(f"{balanced(64)} > close")  # 127 + 2 nodes
    err = error(f"{balanced(128)} > close")
    assert "too large" in err.message and err.position < 1000


# -- evaluation ----------------------------------------------------------------------------


ONE_TO_TEN = candles(list(range(1, 11)))


def test_sma_of_one_to_ten() -> None:
    cond = parse("sma(close, 3) >= 5")
    # sma(3) of 1..10 is NaN, NaN, 2, 3, ..., 9
    assert evaluate(cond, ONE_TO_TEN).tolist() == [False] * 5 + [True] * 5
    assert explain(cond, ONE_TO_TEN, 9) == {"sma(close, 3)": 9.0, "close": 10.0}
    values = explain(cond, ONE_TO_TEN, 0)
    assert np.isnan(values["sma(close, 3)"])


def test_arithmetic_and_change_by_hand() -> None:
    cond = parse("change(close, 2) > 50 and (close - open) * 2 == 0")
    # change(2)[t] = 100 * (x[t] / x[t-2] - 1): t=2 -> 200, t=3 -> 100, t=4 -> 66.7, t=5 -> 50
    assert evaluate(cond, ONE_TO_TEN).tolist() == [False] * 2 + [True] * 3 + [False] * 5
    assert explain(cond, ONE_TO_TEN, 3)["change(close, 2)"] == pytest.approx(100.0)
    assert explain(cond, ONE_TO_TEN, 3)["((close - open) * 2)"] == 0.0


def test_highest_lowest_roc_stddev_by_hand() -> None:
    data = candles([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])
    cond = parse(
        "highest(close, 3) > lowest(close, 3) and roc(close, 1) != 0 and stddev(close, 2) > 0"
    )
    values = explain(cond, data, 6)
    assert values["highest(close, 3)"] == 9.0
    assert values["lowest(close, 3)"] == 2.0
    assert values["roc(close, 1)"] == pytest.approx((2 / 9 - 1) * 100)
    assert values["stddev(close, 2)"] == pytest.approx(3.5)  # population sd of 9 and 2
    assert evaluate(cond, data).tolist() == [False, False] + [True] * 6


def test_indicators_match_talib() -> None:
    rng = np.random.default_rng(7)
    close = 100 + np.cumsum(rng.normal(size=200))
    data = candles(close)
    expected = {
        "rsi(14)": talib.RSI(close, 14),
        "rsi(open, 7)": talib.RSI(close, 7),
        "ema(close, 10)": talib.EMA(close, 10),
        "wma(close, 10)": talib.WMA(close, 10),
        "macd(12, 26, 9)": talib.MACD(close, 12, 26, 9)[0],
        "macd_signal(close, 12, 26, 9)": talib.MACD(close, 12, 26, 9)[1],
        "macd_hist(close, 12, 26, 9)": talib.MACD(close, 12, 26, 9)[2],
        "bbands_upper(close, 20, 2)": talib.BBANDS(close, 20, 2, 2)[0],
        "bbands_middle(close, 20, 2)": talib.BBANDS(close, 20, 2, 2)[1],
        "bbands_lower(close, 20, 2)": talib.BBANDS(close, 20, 2, 2)[2],
        "atr(14)": talib.ATR(close + 1, close - 1, close, 14),
    }
    for text, want in expected.items():
        cond = parse(f"{text} > 0")
        assert explain(cond, data, 150)[text] == pytest.approx(want[150]), text
        got = evaluate(cond, data)
        assert got.tolist() == (np.nan_to_num(want, nan=-1) > 0).tolist(), text
        # lookback is exactly the first candle count with a defined value
        assert not np.isnan(want[cond.lookback - 1]) and np.isnan(want[cond.lookback - 2]), text


def test_rsi_oversold_on_a_falling_series() -> None:
    close = np.array([10.0, 9, 8, 7, 6, 5, 6, 5, 4, 3])
    cond = parse("rsi(3) < 30")
    want = talib.RSI(close, 3)
    assert evaluate(cond, candles(close)).tolist() == (np.nan_to_num(want, nan=100) < 30).tolist()
    assert evaluate(cond, candles(close))[4]  # three straight losses: rsi 0


def test_crosses_above_and_below() -> None:
    data = candles([1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 2.0, 3.0])
    above = evaluate(parse("crosses_above(close, 2)"), data)
    below = evaluate(parse("crosses_below(close, 2)"), data)
    # above: prev <= 2 and now > 2 ; below: prev >= 2 and now < 2
    assert above.tolist() == [False, False, True, False, False, False, False, True]
    assert below.tolist() == [False, False, False, False, True, False, False, False]


def test_warmup_nan_is_false_even_under_not_and_not_equal() -> None:
    data = candles([1.0, 2.0, 3.0, 4.0])
    assert evaluate(parse("not sma(close, 3) > 100"), data).tolist() == [False, False, True, True]
    assert evaluate(parse("sma(close, 3) != 0"), data).tolist() == [False, False, True, True]
    # Kleene logic: a defined true side of `or` is enough
    got = evaluate(parse("close > 3 or sma(close, 3) > 100"), data)
    assert got.tolist() == [False, False, False, True]
    assert evaluate(parse("close / 0 > 1"), data).tolist() == [False] * 4


def test_explain_keys_and_errors() -> None:
    cond = parse("rsi(14) < 30 and close > sma(close, 50)")
    close = np.linspace(100, 50, 60)
    values = explain(cond, candles(close), -1)
    assert set(values) == {"rsi(14)", "close", "sma(close, 50)"}
    assert values["close"] == 50.0
    assert values["sma(close, 50)"] == pytest.approx(np.mean(close[-50:]))
    assert values["rsi(14)"] == 0.0
    assert not evaluate(cond, candles(close))[-1]  # falling: close is below its sma
    with pytest.raises(IndexError):
        explain(cond, candles(close), 60)


def test_candle_validation() -> None:
    cond = parse("atr(3) > volume")
    with pytest.raises(ValueError, match="'high'"):
        evaluate(cond, {"close": np.ones(3), "volume": np.ones(3)})
    with pytest.raises(ValueError, match="same length"):
        evaluate(parse("close > open"), {"close": np.ones(3), "open": np.ones(4)})
    assert evaluate(parse("sma(close, 5) > 1"), {"close": np.ones(0)}).tolist() == []
    assert evaluate(parse("sma(close, 5) > 1"), {"close": [2.0] * 3}).tolist() == [False] * 3


def test_render_round_trips() -> None:
    for text in (
        "rsi(14) < 30 and close > sma(close, 50)",
        "not (crosses_above(ema(close, 12), ema(close, 26)) or -close / 2.5 >= 0.001)",
        "bbands_lower(vwap, 20, 2.5) > trade_count * 0.5",
    ):
        cond = parse(text)
        assert parse(render(cond.root)).root == cond.root


# -- fuzzing -------------------------------------------------------------------------------

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOKENS = [
    *SERIES,
    *FUNCTIONS,
    "and", "or", "not", "(", ")", ",", "<", "<=", ">", ">=", "==", "!=", "+", "-", "*", "/",
    "0", "1", "2", "14", "2.5", "1000", "1001", "__import__", ".", "[", "]", "'", "lambda", "x",
]  # fmt: skip


def _only_condition_errors(text: str) -> None:
    try:
        cond = parse(text)
    except ConditionError as err:
        assert 0 <= err.position <= max(len(text), MAX_SOURCE)
    else:
        evaluate(cond, candles(np.linspace(1.0, 20.0, 40)))
    # Parsing and evaluating cost work linear in the text (a backtracking or exponential
    # path would blow this bound), counted in calls rather than timed.
    series = candles(np.linspace(1.0, 20.0, 40))
    assert python_calls(lambda: evaluate(parse(text), series)) <= 1_000 + 5 * len(text)


@FUZZ
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_fuzz_random_text(text: str) -> None:
    _only_condition_errors(text)


@FUZZ
@given(st.text(alphabet="abcdelorstn_mi()<>=!+-*/,. 0123456789'[]", max_size=1200))
def test_fuzz_near_miss_text(text: str) -> None:
    _only_condition_errors(text)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=250))
def test_fuzz_token_sequences(tokens: list[str]) -> None:
    _only_condition_errors(" ".join(tokens))


SERIES_NAMES = sorted(SERIES)
periods = st.integers(2, 30).map(str)
literals = st.one_of(st.integers(0, 500).map(str), st.sampled_from(["0.5", "2.25", "100.0"]))


@functools.cache
def numeric(depth: int) -> st.SearchStrategy[str]:
    leaf = st.one_of(st.sampled_from(SERIES_NAMES), literals)
    if depth == 0:
        return leaf
    inner = numeric(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(inner, st.sampled_from("+-*/"), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda e: f"-{e}"),
        periods.map(lambda p: f"rsi({p})"),
        periods.map(lambda p: f"atr({p})"),
        st.tuples(
            st.sampled_from(
                ["rsi", "sma", "ema", "wma", "stddev", "roc", "highest", "lowest", "change"]
            ),
            inner,
            periods,
        ).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(
            st.sampled_from(["macd", "macd_signal", "macd_hist"]),
            inner,
            st.integers(2, 10),
            st.integers(1, 10),
            st.integers(1, 9),
        ).map(lambda t: f"{t[0]}({t[1]}, {t[2]}, {t[2] + t[3]}, {t[4]})"),
        st.tuples(
            st.sampled_from(["bbands_upper", "bbands_middle", "bbands_lower"]),
            inner,
            periods,
            st.sampled_from(["1", "2", "2.5"]),
        ).map(lambda t: f"{t[0]}({t[1]}, {t[2]}, {t[3]})"),
    )


@functools.cache
def boolean(depth: int) -> st.SearchStrategy[str]:
    comparison = st.tuples(
        numeric(3), st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), numeric(3)
    ).map(lambda t: f"{t[0]} {t[1]} {t[2]}")
    cross = st.tuples(st.sampled_from(["crosses_above", "crosses_below"]), numeric(3), numeric(3))
    leaf = st.one_of(comparison, cross.map(lambda t: f"{t[0]}({t[1]}, {t[2]})"))
    if depth == 0:
        return leaf
    inner = boolean(depth - 1)
    return st.one_of(
        leaf,
        inner.map(lambda e: f"not ({e})"),
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        ),
    )


@settings(max_examples=200, deadline=500, suppress_health_check=[HealthCheck.too_slow])
@given(boolean(2), st.integers(0, 80))
def test_fuzz_valid_trees_round_trip(text: str, length: int) -> None:
    try:
        cond = parse(text)
    except ConditionError as err:  # only the size limits may reject a grammatical tree
        assert len(text) > MAX_SOURCE or "too large" in err.message or "deeply" in err.message
        return
    assert parse(render(cond.root)).root == cond.root
    close = 50 + np.cumsum(np.random.default_rng(length).normal(size=length))
    data = candles(close)
    result = evaluate(cond, data)
    assert result.dtype == np.bool_ and result.shape == (length,)
    if length:
        explain(cond, data, length - 1)
