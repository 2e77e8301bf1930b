"""The strategy scanner: every active strategy evaluated on each closed candle of its
instruments, alerts stored with their deliveries, each candle once per strategy."""

from tickhub.alerts.scanner._engine import (
    GroupRequest,
    Hit,
    Job,
    alert_values,
    evaluate_many,
    find_alerts,
)
from tickhub.alerts.scanner._history import history_between
from tickhub.alerts.scanner._model import ScanResult, latest_close
from tickhub.alerts.scanner._service import Scanner
from tickhub.alerts.scanner._window import MAX_WINDOW, window_from, window_length

__all__ = [
    "MAX_WINDOW",
    "GroupRequest",
    "Hit",
    "Job",
    "ScanResult",
    "Scanner",
    "alert_values",
    "evaluate_many",
    "find_alerts",
    "history_between",
    "latest_close",
    "window_from",
    "window_length",
]
