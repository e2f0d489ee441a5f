"""One scheduler for every object: a heap of due times and a bounded pool of worker threads.

Kopf's per-object daemons cost an asyncio task, a stopper and a live body each, and all of them
wake and queue on their own; at thousands of objects that is most of the operator's memory and
CPU. Here an object is an entry in a heap: the loop sleeps until the earliest due time, hands due
objects to at most ``workers`` threads, and never runs one object twice at once. Nothing here
knows about Kubernetes: ``job(key)`` does the work and returns the delay until the next run, or
None when the object needs no more runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import heapq
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

Job = Callable[[str], "float | None"]


@dataclass
class SchedulerStats:
    runs: int = 0
    failures: int = 0
    in_flight: int = 0
    waiting: int = 0  # objects with a due time, whether or not it has come


@dataclass
class Scheduler:
    job: Job
    workers: int
    retry_s: float = 30.0  # after a job raised: the object is tried again, never dropped
    clock: Callable[[], float] = time.monotonic
    stats: SchedulerStats = field(default_factory=SchedulerStats)

    def __post_init__(self) -> None:
        self._heap: list[tuple[float, int, str]] = []
        self._due: dict[str, float] = {}  # the one valid heap entry per key
        self._running: set[str] = set()
        self._rerun: dict[str, float] = {}  # asked for while running: run again at this time, or when it ends
        self._seq = 0
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(self.workers)
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="verify")
        self._tasks: set[asyncio.Future[None]] = set()

    # ------------------------------------------------------------------ requests

    def soon(self, key: str) -> None:
        """Run ``key`` now, or right after its run in flight (which may have read stale data)."""
        self.at(key, self.clock())

    def at(self, key: str, when: float) -> None:
        """Run ``key`` at ``when`` (on ``clock``) or before, if an earlier run is already due; when
        it is running, run it again after it ends, and not before ``when``."""
        if key in self._running:
            self._rerun[key] = min(when, self._rerun.get(key, when))
        else:
            self._at(key, when, earlier_only=True)

    def forget(self, key: str) -> None:
        self._due.pop(key, None)
        self._rerun.pop(key, None)
        self.stats.waiting = len(self._due)

    def _at(self, key: str, when: float, earlier_only: bool = False) -> None:
        current = self._due.get(key)
        if earlier_only and current is not None and current <= when:
            return
        self._due[key] = when
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, key))
        self.stats.waiting = len(self._due)
        self._wake.set()

    # ------------------------------------------------------------------ the loop

    def _next_due(self) -> tuple[float, str] | None:
        while self._heap:
            when, _, key = self._heap[0]
            if self._due.get(key) != when:
                heapq.heappop(self._heap)  # superseded by a later request, or forgotten
                continue
            return when, key
        return None

    async def run(self) -> None:
        while True:
            head = self._next_due()
            delay = None if head is None else head[0] - self.clock()
            if delay is None or delay > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)
                continue
            assert head is not None
            await self._slots.acquire()
            if self._next_due() != head:  # changed while waiting for a slot: look again
                self._slots.release()
                continue
            heapq.heappop(self._heap)
            key = head[1]
            del self._due[key]
            self.stats.waiting = len(self._due)
            self._running.add(key)
            self.stats.in_flight = len(self._running)
            task = asyncio.ensure_future(self._run_one(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run_one(self, key: str) -> None:
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        try:
            delay = await loop.run_in_executor(self._pool, ctx.run, self.job, key)
        except Exception:  # one object's failure never stops the others
            log.exception("scheduled work on %s failed; retrying in %.0fs", key, self.retry_s)
            self.stats.failures += 1
            delay = self.retry_s
        finally:
            self.stats.runs += 1
            self._running.discard(key)
            self.stats.in_flight = len(self._running)
            self._slots.release()
        rerun = self._rerun.pop(key, None)
        if rerun is not None:
            self._at(key, rerun if delay is None else min(rerun, self.clock() + delay))
        elif delay is not None:
            self._at(key, self.clock() + delay)

    async def drain(self) -> None:
        """Wait for the runs in flight (on shutdown: a half-done pass is never cut off)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
