"""The collector's view of a long-running process's heap, settled once it serves.

A full (generation 2) collection of the cyclic garbage collector walks every tracked
object in the heap: the modules, classes, functions, SQLAlchemy's and pydantic's
structures built at start-up. With a `tickhub up` of about 150 MiB that took 100–150 ms
of CPU, several times a minute, in one step of the event loop: the live feed, the writer
and every request waited for it. Once the process serves, `settle_heap` collects what
start-up left behind and moves the rest to the permanent generation (`gc.freeze`), which
later collections skip: they walk only what was made since. The young generation's
threshold is raised too, so the short-lived objects of a write or a flush (a batch that
waits a quarter of a second for the paced writer) die before a collection promotes them,
and fewer reach the older generations whose growth triggers the full collections.

What is frozen is never collected as cyclic garbage; it is what start-up built and keeps
for the process's life. Reference counting frees frozen objects as before.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # allocations (net) between young collections; CPython's is 700


def settle_heap() -> None:
    """Collect start-up's garbage, then keep what is left out of later collections."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
