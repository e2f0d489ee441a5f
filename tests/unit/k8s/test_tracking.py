"""``Tracking``: what the process remembers per uid, shared by the event loop and the workers."""

from __future__ import annotations

import threading

from bucketaccess.k8s.tracking import Tracking


def test_first_sight_and_first_pass_are_reported_once() -> None:
    t = Tracking()
    assert not t.watched("a")
    assert t.watch("a") and not t.watch("a") and t.watched("a")
    assert t.first_verified("a") and not t.first_verified("a")


def test_a_change_is_taken_by_one_pass() -> None:
    t = Tracking()
    assert t.take_change("a") is None
    t.changed("a", 1.0)
    t.changed("a", 2.0)  # the latest change wins
    assert t.take_change("a") == 2.0
    assert t.take_change("a") is None


def test_cleanup_failures_count_in_a_row_until_done() -> None:
    t = Tracking()
    assert [t.cleanup_failed("a") for _ in range(3)] == [0, 1, 2]
    t.cleanup_done("a")
    assert t.cleanup_failed("a") == 0


def test_forget_drops_everything() -> None:
    t = Tracking()
    t.watch("a")
    t.changed("a", 1.0)
    t.first_verified("a")
    t.cleanup_failed("a")
    t.forget("a")
    assert not t.watched("a") and t.take_change("a") is None
    assert t.first_verified("a") and t.cleanup_failed("a") == 0


def test_counts_hold_under_threads() -> None:
    t = Tracking()
    firsts: list[bool] = []

    def hammer() -> None:
        for _ in range(1000):
            t.cleanup_failed("a")
        firsts.append(t.watch("b"))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert t.cleanup_failed("a") == 8000
    assert firsts.count(True) == 1
