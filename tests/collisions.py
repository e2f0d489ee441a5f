"""Prefixes whose managed Sids collided under the first planner (8 hex digits of SHA-256 over the
prefix and the actions joined with newlines): the displacement attack of a tenant, found by a
birthday search in well under a second. Shared by the unit and e2e tests of the Sid encoding."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def legacy_sid(prefix: str, actions: Iterable[str]) -> str:
    """The Sid the first planner gave a statement: 32 bits, over text the tenant controls."""
    return (
        "BucketAccess"
        + hashlib.sha256("\n".join([prefix, *sorted(actions)]).encode()).hexdigest()[:8].upper()
    )


def colliding_prefixes(actions: Iterable[str] = ("s3:PutObject",), stem: str = "in/") -> tuple[str, str]:
    """Two different literal prefixes (valid for the CRD) with the same legacy Sid."""
    wanted = sorted(actions)
    seen: dict[str, str] = {}
    for i in range(1 << 22):
        prefix = f"{stem}{i:x}/"
        sid = legacy_sid(prefix, wanted)
        if sid in seen:
            return seen[sid], prefix
        seen[sid] = prefix
    raise AssertionError("no collision found")  # 2**22 tries: never reached for 32 bits
