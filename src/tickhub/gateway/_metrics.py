"""Prometheus metrics: HTTP requests by route template, and the pipeline's own counters
read at scrape time from what the app holds (`app.state.bus` and `app.state.pipeline`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from starlette.datastructures import State

from tickhub.bus import Bus
from tickhub.common.looplag import BUCKETS, LoopLag
from tickhub.marketdata.events import SourceState
from tickhub.marketdata.live.status import PipelineStatus

_LABELS = ("method", "route", "status")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # the route label of a request no route answers (404s)
_US = 1_000_000
# A bound on the cache of children: methods outside `_METHODS` share "OTHER" in the
# registry, but each would hold a cache entry of its own.
_MAX_CHILDREN = 4096


class HttpMetrics:
    """One registry per app (tests build many apps in one process)."""

    def __init__(self, state: State) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` twins
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tickhub_http_requests",
            "HTTP requests answered, by method, route template and status",
            _LABELS,
            registry=self.registry,
        )
        self.duration = Histogram(
            "tickhub_http_request_duration_seconds",
            "Time from request to the end of the response",
            _LABELS,
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        # The two children of each (method, route, status), looked up once: a route
        # template set is small and fixed, so the map stays small.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.registry.register(PipelineCollector(state))
        self.registry.register(LoopLagCollector(state))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            labels = (method if method in _METHODS else "OTHER", route, str(status))
            children = self.requests.labels(*labels), self.duration.labels(*labels)
            if len(self._children) < _MAX_CHILDREN:
                self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


class PipelineCollector(Collector):
    """Bus, writer, tracker and WebSocket figures of the running process."""

    def __init__(self, state: State) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        running: Bus | None = getattr(self._state, "bus", None)
        if running is None:
            return
        pipeline: PipelineStatus = getattr(self._state, "pipeline", None) or PipelineStatus()
        bus = running.stats
        yield _counter("bus_published", "Messages published on the bus", bus.published)
        yield _counter("bus_delivered", "Messages handled by a subscriber", bus.delivered)
        yield _counter("bus_retried", "Deliveries retried after a handler failed", bus.retried)
        yield _counter(
            "bus_dead_lettered", "Messages set aside after repeated failures", bus.dead_lettered
        )
        yield _counter("bus_dropped_live", "Messages a slow live view skipped", bus.dropped_live)
        if (w := pipeline.writer) is not None:
            yield _counter("writer_batches", "Trade batches written", w.batches)
            yield _counter("writer_trades_received", "Trades received by the writer", w.received)
            yield _counter("writer_trades_new", "Trades not seen before", w.new)
            yield _counter("writer_trades_stored", "Trades stored (after sampling)", w.stored)
            yield _counter("writer_trades_duplicate", "Trades already stored", w.duplicates)
            yield _counter(
                "writer_rejected_frames", "Exchange frames kept aside", w.rejected_frames
            )
            if w.last_trade_ts is not None:
                yield GaugeMetricFamily(
                    "tickhub_writer_last_trade_timestamp_seconds",
                    "Exchange time of the newest stored trade",
                    value=w.last_trade_ts / _US,
                )
        if (t := pipeline.tracker) is not None:
            yield _counter(
                "tracker_trades_published", "Trades published by the tracker", t.published
            )
            yield _counter("tracker_frames_rejected", "Frames a source could not parse", t.rejected)
            yield GaugeMetricFamily(
                "tickhub_tracker_buffered", "Trades and events not yet on the bus", value=t.buffered
            )
            yield _counter(
                "tracker_backpressure_waits",
                "Times a source waited for room in the tracker's buffer",
                t.backpressure_waits,
            )
            yield _counter("source_restarts", "Sources restarted after a failure", t.restarts)
            connected = GaugeMetricFamily(
                "tickhub_source_connected",
                "1 when the source is receiving (live or simulated)",
                labels=["source"],
            )
            for name, status in t.statuses.items():
                up = status.state in {SourceState.CONNECTED, SourceState.SIMULATED}
                connected.add_metric([name], 1 if up else 0)
            yield connected
        if (live := pipeline.live) is not None:
            yield GaugeMetricFamily(
                "tickhub_ws_clients", "Connected WebSocket clients", value=live.connected
            )
            yield _counter("ws_messages_sent", "Messages sent to WebSocket clients", live.sent)
            yield _counter(
                "ws_clients_dropped_slow",
                "WebSocket clients cut off for lagging",
                live.dropped_slow,
            )
            yield _counter("ws_flushes", "Live hub flushes (ticks that sent)", live.flushes)
            yield _counter(
                "ws_flush_cpu_seconds", "CPU time of the live hub's flushes", live.flush_cpu_s
            )
            yield _counter(
                "ws_flush_writes", "Socket writes of the live hub's flushes", live.flush_writes
            )


class LoopLagCollector(Collector):
    """How late the event loop ran its timers (`app.state.loop_lag`, while it runs): the
    length of the steps that held it."""

    def __init__(self, state: State) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        probe: LoopLag | None = getattr(self._state, "loop_lag", None)
        if probe is None:
            return
        f = probe.figures
        cumulative, buckets = 0, []
        for bound, n in zip((*BUCKETS, float("inf")), f.counts, strict=True):
            cumulative += n
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        yield HistogramMetricFamily(
            "tickhub_event_loop_lag_seconds",
            f"How late the event loop ran a timer due every {probe.interval_s * 1000:g} ms",
            buckets=buckets,
            sum_value=f.total_s,
        )
        yield GaugeMetricFamily(
            "tickhub_event_loop_lag_max_seconds",
            "The longest event-loop lag seen since the start",
            value=f.max_s,
        )


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(f"tickhub_{name}", documentation, value=value)
