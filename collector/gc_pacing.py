"""Cyclic garbage collection paced by the clock instead of by allocations, while serving.

Why: CPython starts a collection of the young generation every 700 net container
allocations. Ingest keeps a few hundred objects alive per snapshot in flight (the
validated models, the derived rows) until its batch is written, so every collection
walked that in-flight set again, and promoted it to older generations that then had
to be walked too. On the ingest benchmark (PostgreSQL, two workers) collections took
~8 % of each worker's CPU, ~350 of them per second. Ingest makes no cyclic garbage
(checked with `gc.DEBUG_SAVEALL` during a benchmark run: none), reference counting
frees all of it, so those walks found nothing to free.

So, while the application runs, automatic collection is off and a task collects the
young generations every second (one walk of the in-flight set, ~1 ms) and the whole
heap every ten minutes. What cycles other paths make (exceptions keep their frames)
wait at most a second. Automatic collection is switched back on when the application
stops, so a process that hosts it for a while (the tests) is left as it was found.
"""

from __future__ import annotations

import asyncio
import gc
from dataclasses import dataclass


@dataclass(frozen=True)
class GcPacing:
    young_every_s: float = 1.0
    full_every_s: float = 600.0

    async def run(self) -> None:
        """Until cancelled; re-enables automatic collection however it ends."""
        gc.disable()
        since_full = 0.0
        try:
            while True:
                await asyncio.sleep(self.young_every_s)
                since_full += self.young_every_s
                if since_full >= self.full_every_s:
                    since_full = 0.0
                    gc.collect()
                else:
                    gc.collect(1)  # generations 0 and 1: what the last second left
        finally:
            gc.enable()
