"""Claiming a chunk of prepared groups in the scanner's transaction, and what the scanner
remembers after the commit (see `_store` for the compare-and-set on the marks)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from tickhub.alerts.events import AlertRaised
from tickhub.alerts.scanner._model import Outcome, Prepared
from tickhub.alerts.scanner._store import Mark, MarkKey, NewAlert, ScannerStore
from tickhub.common.time import from_us
from tickhub.sessions import service as sessions


def last_alerts(prepared: Sequence[Prepared]) -> dict[MarkKey, int]:
    """Cooldowns: the close of each strategy's latest alert on each instrument, recorded
    with the claim (the hits were decided from the marks as read, which the claim proves
    unchanged)."""
    latest: dict[MarkKey, int] = {}
    for p in prepared:
        g = p.group
        for h in p.hits:
            latest[(p.pending[h.job].id, g.exchange, g.symbol)] = int(p.request.closes[h.row])
    return latest


async def claim(
    store: ScannerStore,
    prepared: Sequence[Prepared],
    latest: dict[MarkKey, int],
    raised_at: datetime,
    ledger: sessions.PaperLedger | None = None,
) -> tuple[set[MarkKey], list[list[NewAlert]], list[int]]:
    """Claim the marks of every prepared group and store the alerts of the claimed
    strategies (booking those of paper-trading strategies in their sessions, through
    `ledger`): the marks claimed, each group's alerts, and their ids in order."""
    # The first statement writes, so on SQLite the transaction takes the write
    # lock before it reads anything (no stale snapshot to upgrade).
    # Marks of strategies seen here for the first time start at the previous
    # close, the value they were read as; a concurrent scanner's insert wins.
    await store.seed_marks(
        [(sid, p.group.exchange, p.group.symbol, p.group.close - p.group.interval_us)
         for p in prepared for sid in p.fresh]
    )  # fmt: skip
    claimed: set[MarkKey] = set()
    for p in prepared:
        g = p.group
        by_seen: dict[int, list[int]] = defaultdict(list)
        for s in p.pending:
            by_seen[p.seen[s.id].evaluated_through].append(s.id)
        for seen, sids in by_seen.items():
            won = await store.claim(
                sids, g.exchange, g.symbol, seen=seen, through=g.close, last_alerts=latest
            )
            claimed.update((sid, g.exchange, g.symbol) for sid in won)
    alerts = [
        [
            NewAlert(
                strategy=p.pending[h.job],
                exchange=p.group.exchange,
                symbol=p.group.symbol,
                candle_start=int(p.request.closes[h.row]) - p.group.interval_us,
                candle_close=int(p.request.closes[h.row]),
                values=h.values,
                close=float(p.request.candles["close"][h.row]),
                raised_at=raised_at,
            )
            for h in p.hits
            if (p.pending[h.job].id, p.group.exchange, p.group.symbol) in claimed
        ]
        for p in prepared
    ]
    ids = await store.insert_alerts([a for group in alerts for a in group])
    if ledger is not None:
        await ledger.book(
            [
                (paper[0], a.strategy.user_id,
                 sessions.PaperTrade(paper[1], paper[2], a.close, from_us(a.candle_close), ""))
                for group in alerts
                for a in group
                if (paper := a.strategy.paper) is not None
            ]
        )  # fmt: skip
    return claimed, alerts, ids


def remember(
    marks: dict[MarkKey, Mark],
    p: Prepared,
    claimed: set[MarkKey],
    last_alerts: dict[MarkKey, int],
    events: list[AlertRaised],
) -> Outcome:
    """After the commit: remember in `marks` the marks this scanner moved, forget those
    another scanner moved (and name the ones claimed from memory: `stale`)."""
    group = p.group
    stale: list[int] = []
    mine: set[int] = set()
    for s in p.pending:
        key = (s.id, group.exchange, group.symbol)
        if key in claimed:
            mine.add(s.id)
            marks[key] = Mark(group.close, last_alerts.get(key, p.seen[s.id].last_alert_close))
        else:
            marks.pop(key, None)
            if s.id in p.remembered:
                stale.append(s.id)
    n = len(p.request.closes)
    decisions = sum(
        max(0, n - j.first) for s, j in zip(p.pending, p.jobs, strict=True) if s.id in mine
    )
    return Outcome(claimed=len(mine), decisions=decisions, alerts=events, stale=stale)
