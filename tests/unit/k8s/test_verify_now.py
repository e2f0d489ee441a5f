"""Verify-now coalescing and the per-namespace budget, on a fake clock: floods of requests as the
scheduler and the driver would see them, with exact counts of the fresh passes they buy.

The simulation runs a pass at the time it is due (as many workers as needed), the way
handlers.observed (``ask``, then ``Scheduler.at``) and driver.work (``take`` when the pass
starts, then the next run no later than a pass still waiting) use the gate.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

import pytest

from bucketaccess.k8s.verify_now import NamespaceBudget, VerifyNowGate, VerifyNowLimits

DEFAULTS = VerifyNowLimits()  # 5 s window, 1 pass/s, burst 10


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Request:
    at: float
    uid: str
    namespace: str


@dataclass(frozen=True)
class Pass:
    at: float
    uid: str
    asked: float  # the latest request it took: its reads are all made after this


def simulate(
    limits: VerifyNowLimits, requests: list[Request], horizon: float = 10_000.0
) -> tuple[VerifyNowGate, list[Pass]]:
    clock = Clock()
    gate = VerifyNowGate(limits, clock)
    due: dict[str, float] = {}  # the scheduler: one due time per object
    passes: list[Pass] = []

    def run_until(t: float) -> None:
        while ready := [(when, uid) for uid, when in due.items() if when <= t]:
            when, uid = min(ready)
            clock.now = when
            del due[uid]
            asked = gate.take(uid)
            if asked is not None:
                passes.append(Pass(when, uid, asked))
            waiting = gate.waiting(uid)
            if waiting is not None:
                due[uid] = waiting

    for r in sorted(requests, key=lambda r: r.at):
        run_until(r.at)
        clock.now = r.at
        when = gate.ask(r.uid, r.namespace)
        due[r.uid] = min(when, due.get(r.uid, math.inf))
    run_until(horizon)
    return gate, passes


def loop(namespace: str, objects: int, rounds: int, step: float, start: float = 0.0) -> list[Request]:
    """A tenant annotating each of its objects in turn, ``rounds`` times, one patch every ``step``."""
    return [
        Request(start + (r * objects + i) * step, f"{namespace}-{i}", namespace)
        for r in range(rounds)
        for i in range(objects)
    ]


def most_in_any_span(times: list[float], limits: VerifyNowLimits) -> float:
    """The largest excess over burst + rate * span of any span between two pass starts (<= 0: within budget)."""
    ts = sorted(times)
    return max(
        (j - i + 1) - (limits.burst + limits.rate * (ts[j] - ts[i]))
        for i in range(len(ts))
        for j in range(i, len(ts))
    )


CASES = [
    # name, limits, requests, fresh passes, coalesced, deferred
    pytest.param(
        DEFAULTS,
        [Request(i * 0.01, "a", "A") for i in range(100)],
        2,
        98,
        0,
        id="100-requests-on-one-object-in-1s",
    ),
    pytest.param(DEFAULTS, loop("A", 50, 1, 0.02), 50, 0, 40, id="50-objects-of-one-namespace-in-1s"),
    # the burst's ten objects get a second pass each, after the forty deferred ones
    pytest.param(DEFAULTS, loop("A", 50, 10, 0.002), 60, 440, 50, id="50-objects-10-rounds-in-1s"),
    pytest.param(
        DEFAULTS,
        [Request(0, "a", "A"), Request(1, "a", "A"), Request(10.5, "a", "A")],
        3,
        0,
        0,
        id="inside-the-window-waits-after-it-runs-at-once",
    ),
    pytest.param(
        VerifyNowLimits(window_s=0, rate=1, burst=10),
        [Request(t, "a", "A") for t in (0, 0.5, 1.0)],
        3,
        0,
        0,
        id="no-window-one-pass-per-request",
    ),
    pytest.param(
        VerifyNowLimits(window_s=0, rate=1, burst=1),
        [Request(t, "a", "A") for t in (0, 0.1, 0.2, 0.3)],
        2,
        2,
        1,
        id="no-window-still-folds-while-deferred",
    ),
    pytest.param(
        DEFAULTS,
        [*loop("A", 20, 1, 0.01), Request(0.05, "b", "B")],
        21,
        0,
        10,
        id="another-namespace-in-the-flood",
    ),
]


@pytest.mark.parametrize(("limits", "requests", "fresh", "coalesced", "deferred"), CASES)
def test_fresh_passes_bought_by_a_flood(
    limits: VerifyNowLimits, requests: list[Request], fresh: int, coalesced: int, deferred: int
) -> None:
    gate, passes = simulate(limits, requests)
    assert len(passes) == fresh
    assert sum(gate.stats.requests.values()) == len(requests)
    assert sum(gate.stats.coalesced.values()) == coalesced
    assert sum(gate.stats.deferred.values()) == deferred
    assert len(requests) - coalesced == fresh  # every request not folded buys exactly one pass
    assert gate.stats.pending == 0
    # every request honoured: a later pass of its object took it, or a request after it
    for r in requests:
        assert any(p.uid == r.uid and p.asked >= r.at and p.at >= p.asked for p in passes), r
    # per object, at most one fresh pass per window; per namespace, within burst + rate * span
    for uid in {p.uid for p in passes}:
        times = sorted(p.at for p in passes if p.uid == uid)
        assert all(b - a >= limits.window_s for a, b in itertools.pairwise(times)), uid
    namespace_of = {r.uid: r.namespace for r in requests}
    for namespace in set(namespace_of.values()):
        times = [p.at for p in passes if namespace_of[p.uid] == namespace]
        assert most_in_any_span(times, limits) <= 1e-9, namespace


def test_one_object_flooded_for_a_second_gets_two_passes_the_second_after_the_last_request() -> None:
    requests = [Request(i * 0.01, "a", "A") for i in range(100)]
    _, passes = simulate(DEFAULTS, requests)
    assert passes == [Pass(0.0, "a", 0.0), Pass(5.0, "a", 0.99)]


def test_a_namespace_flood_is_spread_at_its_rate_and_nothing_is_lost() -> None:
    _, passes = simulate(DEFAULTS, loop("A", 50, 1, 0.02))
    starts = sorted(p.at for p in passes)
    assert starts[:10] == pytest.approx([i * 0.02 for i in range(10)])  # the burst, at once
    assert starts[10:] == pytest.approx([float(s) for s in range(1, 41)])  # then one a second
    for elapsed in (0.5, 1, 5, 10, 20, 40):
        assert sum(s <= elapsed for s in starts) <= DEFAULTS.burst + DEFAULTS.rate * elapsed


def test_another_namespace_is_not_slowed_by_a_flood() -> None:
    flood = loop("A", 50, 20, 0.001)  # 1,000 requests in a second
    gate, passes = simulate(DEFAULTS, [*flood, Request(0.5, "b", "B"), Request(0.7, "c", "C")])
    assert [p.at for p in passes if p.uid in ("b", "c")] == [0.5, 0.7]  # at once
    assert gate.stats.deferred["A"] == 50 and "B" not in gate.stats.deferred  # 40, then the burst again


def test_a_pass_before_the_due_time_leaves_the_request_waiting() -> None:
    clock = Clock()
    gate = VerifyNowGate(DEFAULTS, clock)
    assert gate.ask("a", "A") == 0.0
    assert gate.take("a") == 0.0
    clock.now = 1.0
    assert gate.ask("a", "A") == 5.0  # inside the window
    clock.now = 3.0  # a periodic pass, or one caused by a spec change, runs first
    assert gate.take("a") is None and gate.waiting("a") == 5.0 and gate.stats.pending == 1
    clock.now = 4.0
    assert gate.ask("a", "A") == 5.0  # folded: the pass will take reads made after 4.0
    clock.now = 5.0
    assert gate.take("a") == 4.0
    assert gate.take("a") is None and gate.waiting("a") is None and gate.stats.pending == 0


def test_forgetting_an_object_and_a_namespace() -> None:
    clock = Clock()
    gate = VerifyNowGate(VerifyNowLimits(window_s=5, rate=1, burst=1), clock)
    gate.ask("a", "A")
    gate.ask("b", "A")  # deferred to 1.0
    assert gate.stats.pending == 2 and gate.stats.deferred == {"A": 1}
    gate.forget("b")
    assert gate.waiting("b") is None and gate.stats.pending == 1
    gate.forget_namespace("A")
    assert gate.stats.requests == {} and gate.stats.deferred == {}
    clock.now = 0.1
    assert gate.ask("c", "A") == 0.1  # a namespace created again starts with a full budget


@pytest.mark.parametrize("seed", range(5))
def test_the_budget_holds_for_reservations_in_any_order(seed: int) -> None:
    rnd = random.Random(seed)
    limits = VerifyNowLimits(rate=rnd.choice([0.5, 1.0, 3.0]), burst=rnd.randint(1, 8))
    budget = NamespaceBudget(limits.rate, limits.burst)
    earliest = [rnd.uniform(0, 20) for _ in range(60)]  # an object window may ask for a later start
    starts = [budget.reserve(e) for e in earliest]
    assert all(s >= e for s, e in zip(starts, earliest, strict=True))
    assert most_in_any_span(starts, limits) <= 1e-9


@pytest.mark.parametrize(
    "limits",
    [VerifyNowLimits(window_s=-1), VerifyNowLimits(rate=0), VerifyNowLimits(burst=0)],
    ids=["negative-window", "zero-rate", "zero-burst"],
)
def test_unusable_limits_are_named(limits: VerifyNowLimits) -> None:
    assert limits.problem() is not None
    assert DEFAULTS.problem() is None
