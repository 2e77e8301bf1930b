"""What a process imports to serve: the heavy libraries only the features that use them
load (TA-Lib pulls in pandas and pyarrow, about 100 MiB of resident memory)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

_HEAVY = ("talib", "pandas", "pyarrow", "ccxt", "apprise")


def test_serving_imports_no_heavy_library() -> None:
    code = (
        "import sys, tickhub.cli, tickhub.bootstrap, tickhub.app, tickhub.sessions.datasets\n"
        "import tickhub.compat.trading_datastore, tickhub.marketdata.ingest.sim\n"
        f"print(','.join(m for m in {_HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""


def test_indicators_load_talib_on_first_use() -> None:
    """A process that did not import TA-Lib at start evaluates indicators all the same."""
    code = (
        "import sys, numpy as np, tickhub.app\n"
        "from tickhub.alerts.language import evaluate, parse\n"
        "assert 'talib' not in sys.modules\n"
        "close = 100 + np.sin(np.arange(60) / 3) * 5\n"
        "cols = {'open': close, 'high': close + 1, 'low': close - 1, 'close': close,\n"
        "        'volume': np.ones(60)}\n"
        "cond = parse('rsi(14) < 50 and close > sma(close, 5) and atr(3) > 0')\n"
        "print(''.join('1' if x else '0' for x in evaluate(cond, cols)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    import talib

    close = 100 + np.sin(np.arange(60) / 3) * 5
    rsi, sma = talib.RSI(close, timeperiod=14), talib.SMA(close, timeperiod=5)
    atr = talib.ATR(close + 1, close - 1, close, timeperiod=3)
    expected = "".join(
        "1" if (r < 50 and c > s and a > 0) else "0"
        for r, c, s, a in zip(rsi, close, sma, atr, strict=True)
    )
    assert out.stdout.strip() == expected
    assert "1" in expected and "0" in expected
