"""The scheduler that replaces per-object daemons: order, one run per key at a time, the bound
on concurrent work, reruns, retries and forgetting. Real asyncio and real threads; a fake clock
only where due times are compared, and every wait has a deadline."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from bucketaccess.k8s.scheduler import Scheduler

DEADLINE = 10.0


async def until(predicate: Callable[[], bool], what: str) -> None:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > DEADLINE:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


class Recorder:
    """A job that records each run and returns what the test says."""

    def __init__(self, delay: float | None = None) -> None:
        self.runs: list[str] = []
        self.delay: dict[str, float | None] = {}
        self.default = delay
        self.lock = threading.Lock()
        self.gates: dict[str, threading.Event] = {}
        self.active = 0
        self.peak = 0

    def __call__(self, key: str) -> float | None:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            gate = self.gates.get(key)
            if gate is not None:
                assert gate.wait(DEADLINE), f"gate for {key} never opened"
            with self.lock:
                self.runs.append(key)
            return self.delay.get(key, self.default)
        finally:
            with self.lock:
                self.active -= 1


async def started(s: Scheduler) -> asyncio.Task[Any]:
    return asyncio.create_task(s.run())


async def stop(s: Scheduler, task: asyncio.Task[Any]) -> None:
    task.cancel()
    await s.drain()
    s.close()


def test_due_keys_run_in_due_order_and_reschedule_by_the_returned_delay() -> None:
    async def body() -> None:
        now = [100.0]
        job = Recorder(delay=50.0)
        s = Scheduler(job, workers=1, clock=lambda: now[0])
        task = await started(s)
        s._at("late", 103.0)
        s._at("early", 101.0)
        s.soon("now")
        await until(lambda: s._due.get("now") == 150.0, "the due key to run and be rescheduled")
        assert job.runs == ["now"]  # early and late are not due yet
        assert s._due == {"early": 101.0, "late": 103.0, "now": 150.0} and s.stats.waiting == 3
        now[0] = 104.0
        s._wake.set()
        await until(lambda: len(job.runs) == 3, "both later keys")
        assert job.runs == ["now", "early", "late"]
        assert s._due == {"now": 150.0, "early": 154.0, "late": 154.0}
        await stop(s, task)

    asyncio.run(body())


def test_a_key_never_runs_twice_at_once_and_a_request_while_running_reruns_it() -> None:
    async def body() -> None:
        job = Recorder(delay=None)
        job.gates["a"] = threading.Event()
        s = Scheduler(job, workers=4)
        task = await started(s)
        s.soon("a")
        await until(lambda: s.stats.in_flight == 1, "a to start")
        s.soon("a")
        s.soon("a")
        assert "a" not in s._due  # not queued a second time while it runs
        job.gates["a"].set()
        await until(lambda: job.runs == ["a", "a"], "exactly one rerun")
        await until(lambda: s.stats.in_flight == 0, "idle")
        assert job.runs == ["a", "a"] and job.peak == 1
        await stop(s, task)

    asyncio.run(body())


def test_at_sets_a_due_time_and_a_request_while_running_reruns_no_earlier_than_it() -> None:
    async def body() -> None:
        now = [0.0]
        job = Recorder(delay=None)
        job.gates["a"] = threading.Event()
        s = Scheduler(job, workers=2, clock=lambda: now[0])
        task = await started(s)
        s.at("b", 5.0)
        s.at("b", 7.0)
        assert s._due["b"] == 5.0  # the earlier due time wins
        s.soon("a")
        await until(lambda: s.stats.in_flight == 1, "a to start")
        s.at("a", 6.0)
        s.at("a", 5.0)
        job.gates["a"].set()
        await until(lambda: s.stats.in_flight == 0 and "a" in s._due, "a to end")
        assert s._due["a"] == 5.0 and job.runs == ["a"]  # a verify-now pass that must wait: not at once
        now[0] = 5.0
        s._wake.set()
        await until(lambda: len(job.runs) == 3, "a and b at their time")
        assert sorted(job.runs) == ["a", "a", "b"]
        await stop(s, task)

    asyncio.run(body())


def test_concurrency_is_bounded_by_workers() -> None:
    async def body() -> None:
        job = Recorder(delay=None)
        gate = threading.Event()
        keys = [f"k{i}" for i in range(12)]
        for k in keys:
            job.gates[k] = gate
        s = Scheduler(job, workers=3)
        task = await started(s)
        for k in keys:
            s.soon(k)
        await until(lambda: s.stats.in_flight == 3, "three in flight")
        assert s.stats.waiting == 9
        gate.set()
        await until(lambda: len(job.runs) == 12, "all twelve")
        assert job.peak == 3 and sorted(job.runs) == sorted(keys)
        await stop(s, task)

    asyncio.run(body())


def test_soon_only_moves_a_due_time_earlier() -> None:
    async def body() -> None:
        now = [0.0]
        s = Scheduler(Recorder(), workers=1, clock=lambda: now[0])
        s._at("a", 5.0)
        now[0] = 1.0
        s.soon("a")
        assert s._due["a"] == 1.0
        now[0] = 3.0
        s.soon("a")
        assert s._due["a"] == 1.0  # already due earlier
        s.close()

    asyncio.run(body())


def test_forget_drops_a_waiting_key_and_a_pending_rerun() -> None:
    async def body() -> None:
        job = Recorder(delay=None)
        job.gates["b"] = threading.Event()
        s = Scheduler(job, workers=2)
        task = await started(s)
        s._at("a", time.monotonic() + 0.2)
        s.forget("a")
        s.soon("b")
        await until(lambda: s.stats.in_flight == 1, "b to start")
        s.soon("b")
        s.forget("b")
        job.gates["b"].set()
        await until(lambda: s.stats.in_flight == 0, "b to end")
        await asyncio.sleep(0.3)  # past a's old due time: it must not run
        assert job.runs == ["b"]
        await stop(s, task)

    asyncio.run(body())


def test_a_job_that_raises_is_retried_and_others_go_on(caplog: pytest.LogCaptureFixture) -> None:
    async def body() -> None:
        now = [0.0]
        calls: list[str] = []

        def job(key: str) -> float | None:
            calls.append(key)
            if key == "bad":
                raise RuntimeError("boom")
            return None

        s = Scheduler(job, workers=1, retry_s=30.0, clock=lambda: now[0])
        task = await started(s)
        s.soon("bad")
        s.soon("good")
        await until(lambda: sorted(calls) == ["bad", "good"], "both runs")
        await until(lambda: s._due.get("bad") == 30.0, "the retry to be scheduled")
        assert s.stats.failures == 1 and "good" not in s._due
        await stop(s, task)

    asyncio.run(body())
    assert "boom" in caplog.text


def test_drain_waits_for_the_run_in_flight() -> None:
    async def body() -> None:
        job = Recorder(delay=None)
        job.gates["slow"] = threading.Event()
        s = Scheduler(job, workers=1)
        task = await started(s)
        s.soon("slow")
        await until(lambda: s.stats.in_flight == 1, "the run to start")
        task.cancel()
        threading.Timer(0.1, job.gates["slow"].set).start()
        await asyncio.wait_for(s.drain(), DEADLINE)
        assert job.runs == ["slow"]
        s.close()

    asyncio.run(body())
