"""What this process remembers about each object besides its body (:mod:`.store`), by uid.

Written from the event loop (watch events: :mod:`.handlers`) and from the scheduler's worker
threads (passes and cleanups: :mod:`.driver`), so every operation takes one lock; none of them
blocks or calls out while holding it. The "verify now" requests have their own gate
(:mod:`.verify_now`), and the scheduler its own due times.
"""

from __future__ import annotations

import threading


class Tracking:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: set[str] = set()  # confirmed by a watch event, so scheduled at least once
        self._changed: dict[str, float] = {}  # when a change calling for fresh reads was seen
        self._verified: set[str] = set()  # verified at least once by this process
        self._cleanup_failures: dict[str, int] = {}  # cleanups in a row that found AWS unavailable
        self._read_since: dict[str, float] = {}  # epoch seconds: the last verdict's reads are newer

    def watch(self, uid: str) -> bool:
        """A watch event has shown the object: True the first time (first sight)."""
        return self._add(self._watched, uid)

    def watched(self, uid: str) -> bool:
        """A watch event has shown the object (the start-up listing alone does not count)."""
        with self._lock:
            return uid in self._watched

    def changed(self, uid: str, when: float) -> None:
        """A change that calls for fresh reads (create, spec, class, namespace) was seen at ``when``."""
        with self._lock:
            self._changed[uid] = when

    def take_change(self, uid: str) -> float | None:
        """When the latest change not yet taken by a pass was seen, or None; the pass takes it."""
        with self._lock:
            return self._changed.pop(uid, None)

    def first_verified(self, uid: str) -> bool:
        """A pass has verified the object: True the first time in this process."""
        return self._add(self._verified, uid)

    def verified(self, uid: str, reads_since: float) -> None:
        """A pass wrote a verdict from AWS reads all made after ``reads_since`` (epoch seconds)."""
        with self._lock:
            self._read_since[uid] = reads_since  # the verdict now shown: older reads, an older verdict

    def reads_since(self, uid: str) -> float | None:
        """Every AWS read behind the object's current verdict was made after this (epoch seconds);
        None before its first pass in this process."""
        with self._lock:
            return self._read_since.get(uid)

    def cleanup_failed(self, uid: str) -> int:
        """A cleanup found AWS unavailable: how many had before it, in a row."""
        with self._lock:
            before = self._cleanup_failures.get(uid, 0)
            self._cleanup_failures[uid] = before + 1
            return before

    def cleanup_done(self, uid: str) -> None:
        with self._lock:
            self._cleanup_failures.pop(uid, None)

    def forget(self, uid: str) -> None:
        """The object is gone: drop everything kept about it."""
        with self._lock:
            self._watched.discard(uid)
            self._changed.pop(uid, None)
            self._verified.discard(uid)
            self._cleanup_failures.pop(uid, None)
            self._read_since.pop(uid, None)

    def _add(self, members: set[str], uid: str) -> bool:
        with self._lock:
            first = uid not in members
            members.add(uid)
            return first
