"""Go-style durations, as the CRD's verifyInterval and the run flags take them."""

from __future__ import annotations

import pytest

from bucketaccess.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),  # Go's time.ParseDuration takes a bare 0: `--cache-ttl 0` turns the cache off
        ("0s", 0.0),
        ("45s", 45.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        ("250ms", 0.25),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "00", "soon", "5 m", "m5", "-1s"])
def test_not_durations_are_refused_naming_the_text(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)
