"""The shared read cache on its own: single-flight, what is cached (answers) and what is not
(AWS not answering), the TTL, and the older answers a periodic pass accepts. No AWS here: the
loads are functions, the clock is a variable, and overlapping calls are made to overlap by events,
not by sleeping."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bucketaccess.aws.cache import CachedReader, CacheStats, TTLCache
from bucketaccess.aws.errors import AwsUnavailable, NotFound


class WatchedStats(CacheStats):
    """CacheStats that lets a test wait until callers are waiting for a call in flight."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._coalesced = 0
        super().__init__()

    @property
    def coalesced(self) -> int:
        return self._coalesced

    @coalesced.setter
    def coalesced(self, value: int) -> None:
        with self._changed:
            self._coalesced = value
            self._changed.notify_all()

    def wait_coalesced(self, n: int, timeout: float = 10.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._coalesced >= n, timeout)


def test_single_flight_coalesces_concurrent_identical_reads() -> None:
    stats = WatchedStats()
    cache = TTLCache(ttl=60, stats=stats)
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow_load() -> str:
        calls.append(1)
        started.set()
        assert release.wait(10), "the test never released the load"
        return "value"

    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(cache.get, ("bucket", "b"), slow_load)
        assert started.wait(10)
        # the load is in flight and held there until the seven others wait for it
        others = [pool.submit(cache.get, ("bucket", "b"), slow_load) for _ in range(7)]
        assert stats.wait_coalesced(7), f"only {stats.coalesced} callers reached the cache"
        release.set()
        results = [f.result() for f in (first, *others)]
    assert results == ["value"] * 8
    assert len(calls) == 1
    assert (stats.misses, stats.coalesced, stats.hits) == (1, 7, 0)


def test_unavailable_is_not_cached_but_not_found_is() -> None:
    cache = TTLCache(ttl=60)
    attempts = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise AwsUnavailable("down")
        return "up"

    with pytest.raises(AwsUnavailable):
        cache.get(("k",), flaky)
    assert cache.get(("k",), flaky) == "up"

    def missing() -> str:
        attempts.append(1)
        raise NotFound("bucket", "b")

    before = len(attempts)
    for _ in range(3):
        with pytest.raises(NotFound):
            cache.get(("missing",), missing)
    assert len(attempts) == before + 1


def test_ttl_expiry_reads_again() -> None:
    now = [0.0]
    cache = TTLCache(ttl=10, clock=lambda: now[0])
    loads = []
    cache.get(("k",), lambda: loads.append(1) or "a")
    now[0] = 5
    cache.get(("k",), lambda: loads.append(1) or "a")
    assert len(loads) == 1
    now[0] = 16
    cache.get(("k",), lambda: loads.append(1) or "a")
    assert len(loads) == 2


def test_a_periodic_pass_accepts_older_answers_and_a_changed_object_does_not() -> None:
    """max_age is per caller: one cache serves passes caused by a change (ttl) and periodic
    passes (their interval), so a resource is read about once per interval, not once per ttl."""
    now = [0.0]
    loads: list[float] = []

    class Inner:
        def bucket(self, name: str) -> str:
            loads.append(now[0])
            return f"info of {name}"

    shared = CachedReader(Inner(), TTLCache(ttl=20, clock=lambda: now[0]))  # type: ignore[arg-type]
    periodic = shared.within(300)
    assert periodic.bucket("b") == "info of b" and loads == [0.0]
    now[0] = 250  # past the ttl, within the interval
    periodic.bucket("b")
    assert loads == [0.0]
    shared.bucket("b")  # a pass caused by a change: within the ttl only
    assert loads == [0.0, 250.0]
    now[0] = 540  # the refreshed answer is 290 s old: still good for a periodic pass
    periodic.bucket("b")
    assert loads == [0.0, 250.0]
    now[0] = 560  # 310 s old: past the interval
    periodic.bucket("b")
    assert loads == [0.0, 250.0, 560.0]


def test_a_reader_knows_when_its_oldest_answer_was_asked_for() -> None:
    """What a pass's verdict is made of is no older than ``oldest``: a change event made before
    it needs no second pass. An error answer has no known age: nothing counts as newer."""
    now = [100.0]

    class Inner:
        def bucket(self, name: str) -> str:
            if name == "gone":
                raise NotFound("bucket", name)
            return name

        def role(self, arn: str) -> str:
            return arn

    cache = TTLCache(ttl=20, clock=lambda: now[0])
    CachedReader(Inner(), cache).bucket("b")  # type: ignore[arg-type]  # an earlier pass's read
    now[0] = 110.0
    one = CachedReader(Inner(), cache).within(300)  # type: ignore[arg-type]
    assert one.oldest is None
    one.role("r")
    assert one.oldest == 110.0
    one.bucket("b")  # the earlier read, from the cache
    assert one.oldest == 100.0
    other = CachedReader(Inner(), cache)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        other.bucket("gone")
    assert other.oldest == float("-inf")
