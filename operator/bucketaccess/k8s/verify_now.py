"""When a "verify now" request (the ``s3access.dev/verify`` annotation) may have its fresh pass.

A fresh pass reads every AWS resource of an object again, about twenty calls against quotas that
are shared by the whole AWS account. Anyone who may update a BucketAccess may ask, so asking
must not be a lever on those quotas:

- **Per object**, at most one fresh pass per ``window_s``. A request made while the object's
  fresh pass is still waiting is folded into it (the pass takes only reads made after the last
  request it folded); a request made within the window after a pass waits for the window's end.
- **Per namespace**, fresh passes come out of a token bucket (``rate`` a second, ``burst`` at
  once). A pass beyond the budget is deferred until a token is free, never dropped, and folds
  the requests that arrive meanwhile. Each namespace has its own bucket: one tenant's flood
  delays only its own passes.

Every request is honoured: :meth:`VerifyNowGate.ask` returns when its pass is due, and the
pass at or after that time takes the request (:meth:`VerifyNowGate.take`). Tokens are reserved
when the due time is set, so the due time is final; over any span of ``d`` seconds a namespace
starts at most ``burst + rate * d`` fresh passes. Pure: no Kubernetes, no AWS, the clock
injected.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .settings import VERIFY_NOW_BURST, VERIFY_NOW_RATE, VERIFY_NOW_WINDOW, configured


@dataclass(frozen=True)
class VerifyNowLimits:
    window_s: float = configured(VERIFY_NOW_WINDOW)  # at most one fresh pass per object per window
    rate: float = configured(VERIFY_NOW_RATE)  # fresh passes per second a namespace earns
    burst: int = configured(VERIFY_NOW_BURST)  # fresh passes a namespace may start at once

    def problem(self) -> str | None:
        """What makes these limits unusable, or None."""
        if self.window_s < 0 or self.rate <= 0 or self.burst < 1:
            return f"verify-now limits need window >= 0, rate > 0 and burst >= 1 (got {self})"
        return None


@dataclass
class VerifyNowStats:
    """Counters by namespace, read by the metrics collector. A namespace's entries go with it."""

    requests: dict[str, int] = field(default_factory=dict)
    coalesced: dict[str, int] = field(default_factory=dict)  # folded into a pass already waiting
    deferred: dict[str, int] = field(default_factory=dict)  # passes pushed back by the namespace budget
    pending: int = 0  # objects whose fresh pass is waiting (for its window, its budget, or a worker)


class NamespaceBudget:
    """A token bucket as a theoretical arrival time (GCRA): a reservation takes the earliest
    start at or after ``earliest`` that keeps every span of ``d`` seconds to ``burst + rate * d``
    starts, even when reservations are not made in the order of their start times."""

    def __init__(self, rate: float, burst: int) -> None:
        self.period = 1.0 / rate
        self.slack = (burst - 1) * self.period  # how far ahead of the arrival time a start may be
        self._tat = -math.inf  # the theoretical arrival time of the next start at the steady rate

    def reserve(self, earliest: float) -> float:
        """The start of one more pass, at ``earliest`` or as soon after it as the budget allows."""
        start = max(earliest, self._tat - self.slack)
        self._tat = max(self._tat, start) + self.period
        return start


@dataclass
class _Object:
    namespace: str
    due: float  # when its last (or waiting) fresh pass was due to start
    asked: float | None  # the latest request its waiting pass folds; None: no pass waiting


class VerifyNowGate:
    """Called from the event loop (:meth:`ask`) and from the workers (:meth:`take`): one lock."""

    def __init__(self, limits: VerifyNowLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self.stats = VerifyNowStats()
        self._objects: dict[str, _Object] = {}
        self._budgets: dict[str, NamespaceBudget] = {}
        self._lock = threading.Lock()

    def ask(self, uid: str, namespace: str) -> float:
        """A request for a fresh pass of ``uid``: returns when that pass is due (on ``clock``)."""
        with self._lock:
            now = self.clock()
            _bump(self.stats.requests, namespace)
            obj = self._objects.get(uid)
            if obj is not None and obj.asked is not None:
                obj.asked = now  # the waiting pass will take only reads made after this request
                _bump(self.stats.coalesced, namespace)
                return obj.due
            earliest = now if obj is None else max(now, obj.due + self.limits.window_s)
            budget = self._budgets.get(namespace)
            if budget is None:
                budget = self._budgets[namespace] = NamespaceBudget(self.limits.rate, self.limits.burst)
            due = budget.reserve(earliest)
            if due > earliest:
                _bump(self.stats.deferred, namespace)
            self._objects[uid] = _Object(namespace, due, now)
            self.stats.pending += 1
            return due

    def take(self, uid: str) -> float | None:
        """At the start of a pass: when the last request was made, if this is its fresh pass
        (one is waiting and due); else None, and a waiting pass keeps waiting for its time."""
        with self._lock:
            obj = self._objects.get(uid)
            if obj is None or obj.asked is None or obj.due > self.clock():
                return None
            asked, obj.asked = obj.asked, None
            self.stats.pending -= 1
            return asked

    def waiting(self, uid: str) -> float | None:
        """When the object's waiting fresh pass is due, or None if none waits."""
        with self._lock:
            obj = self._objects.get(uid)
            return obj.due if obj is not None and obj.asked is not None else None

    def forget(self, uid: str) -> None:
        """The object is gone (a token it reserved is not handed back: the budget errs on the safe side)."""
        with self._lock:
            obj = self._objects.pop(uid, None)
            if obj is not None and obj.asked is not None:
                self.stats.pending -= 1

    def forget_namespace(self, namespace: str) -> None:
        """The namespace is gone: its budget and its counters go too (bounded label values)."""
        with self._lock:
            self._budgets.pop(namespace, None)
            for counts in (self.stats.requests, self.stats.coalesced, self.stats.deferred):
                counts.pop(namespace, None)


def _bump(counts: dict[str, int], namespace: str) -> None:
    counts[namespace] = counts.get(namespace, 0) + 1
