"""Backtests: a condition or a stored strategy over the stored candles of a window,
decided by the live scanner's own `find_alerts`, with forward returns, a summary, the
coverage holes and, on request, a paper-trading session."""
