"""Go-style durations (``5m``, ``1h30m``, ``45s``, ``1.5h``), as the CRD's verifyInterval takes them."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds; ValueError naming the text when it is not a duration."""
    text = text.strip()
    if text == "0":
        return 0.0  # as Go's time.ParseDuration: a bare 0 needs no unit (`--cache-ttl 0` turns the cache off)
    pos, total = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m or 1h30m")
    return total
