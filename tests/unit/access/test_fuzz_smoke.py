"""A small run of bench/fuzz.py on every test run: mutated corpus scenarios, random JSON and
generated scenarios are evaluated or refused as InvalidInput, never another exception."""

from __future__ import annotations

import os

from bench.fuzz import run


def test_fuzz_finds_no_crash() -> None:
    report = run(int(os.environ.get("FUZZ_EXAMPLES", "300")))
    assert report["examples"] >= 300
    assert report["evaluated"] > 0 and report["refused"] > 0  # both paths were exercised
    assert report["crashes"] == 0, report["crash_samples"]
