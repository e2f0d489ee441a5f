"""The driver's side of "verify now": the pass the gate allows reads only after the request; a
pass that comes before it (periodic, or caused by a change) reads as usual, leaves the request
waiting, and brings the next run forward to its time. No API server: only the read path."""

from __future__ import annotations

from typing import Any, cast

from bucketaccess.aws.cache import CachedReader, TTLCache
from bucketaccess.aws.memory import MemoryAws
from bucketaccess.k8s import driver
from bucketaccess.k8s.config import OperatorConfig
from bucketaccess.k8s.metrics import Metrics
from bucketaccess.k8s.runtime import Runtime
from bucketaccess.k8s.verify_now import VerifyNowLimits
from bucketaccess.reconcile import WriteDeps

INTERVAL = 300.0


def runtime(cache_ttl: float = 20.0) -> Runtime:
    aws = MemoryAws()
    cache = TTLCache(cache_ttl)
    return Runtime(
        config=OperatorConfig(cache_ttl_s=cache_ttl, verify_now=VerifyNowLimits(window_s=5, rate=1, burst=1)),
        cache=cache,
        metrics=Metrics(),
        reader=CachedReader(aws, cache) if cache_ttl else aws,
        writes=WriteDeps(writer=aws, cache=cache),
        api=cast(Any, None),  # the read path never calls the API server
        record=cast(Any, None),
    )


def max_age(rt: Runtime) -> float | None:
    reader = driver._reader(rt, "a", INTERVAL)
    assert isinstance(reader, CachedReader)
    return reader.max_age


def test_the_allowed_pass_reads_fresh_and_an_earlier_one_leaves_the_request_waiting() -> None:
    rt = runtime()
    rt.verify_now.ask("a", "ns")
    fresh = max_age(rt)
    assert fresh is not None and fresh < 1.0  # only reads made after the request
    assert driver._until_verify_now(rt, "a", INTERVAL) == INTERVAL  # nothing waits any more
    rt.verify_now.ask("a", "ns")  # inside the object's window: due 5 s after the first
    assert max_age(rt) == INTERVAL  # a periodic pass now reads as usual
    wait = driver._until_verify_now(rt, "a", INTERVAL)
    assert 4.0 < wait <= 5.0  # and the next run comes when the waiting request may have its pass
    assert driver._until_verify_now(rt, "a", None) <= wait  # even after a pass that asked for none
    rt.forget("a")
    assert rt.verify_now.stats.pending == 0


def test_without_a_cache_the_request_is_still_taken() -> None:
    rt = runtime(cache_ttl=0)
    rt.verify_now.ask("a", "ns")
    driver._reader(rt, "a", INTERVAL)
    assert rt.verify_now.waiting("a") is None  # else the pass would be rescheduled at once, for ever
    assert rt.metrics.state.verify_now is rt.verify_now.stats
