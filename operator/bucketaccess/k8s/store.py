"""The newest body of every BucketAccess this process watches, with lookups by bucket and key.

It replaces Kopf indexes on BucketAccess: Kopf gates every object of an indexed resource on a
per-object toggle during its initial listing, and each toggle dropped wakes every waiting object,
which at thousands of objects made start-up quadratic (minutes of CPU). Reconciliation plans a
bucket's managed statement from all the objects on that bucket, so the store is filled from a
full listing before the first pass runs (``preload``), as an index would be.

Written on the event loop, read from worker threads: each lookup copies under the GIL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import cast

from ..resources import RawBody, RawMeta


def _slim(raw: RawBody) -> RawBody:
    """What a pass needs of a body: managedFields can be larger than all the rest together."""
    meta = cast(RawMeta, {k: v for k, v in raw["metadata"].items() if k != "managedFields"})
    return {**raw, "metadata": meta}


def _newer(candidate: RawBody, known: RawBody | None) -> bool:
    if known is None:
        return True
    try:  # opaque by contract; the etcd revision behind it orders the writes to one object
        return int(candidate["metadata"]["resourceVersion"]) >= int(known["metadata"]["resourceVersion"])
    except (KeyError, TypeError, ValueError):
        return True


def bucket_of(body: RawBody) -> str | None:
    bucket = (body.get("spec") or {}).get("bucket")
    return str(bucket) if bucket else None


def key_of(body: RawBody) -> str | None:
    key = ((body.get("status") or {}).get("managed") or {}).get("kmsKeyArn")
    return str(key) if key else None


class ObjectStore:
    def __init__(self) -> None:
        self._bodies: dict[str, RawBody] = {}
        self._by_bucket: dict[str, set[str]] = {}
        self._by_key: dict[str, set[str]] = {}
        self._lock = threading.Lock()  # writers only: readers copy single containers

    def __len__(self) -> int:
        return len(self._bodies)

    def get(self, uid: str) -> RawBody | None:
        return self._bodies.get(uid)

    def put(self, raw: RawBody | None) -> bool:
        """Keep ``raw`` unless a newer body of the object is already here; True if kept."""
        if not raw:
            return False
        uid = raw["metadata"]["uid"]
        with self._lock:
            old = self._bodies.get(uid)
            if not _newer(raw, old):
                return False
            body = _slim(raw)
            self._bodies[uid] = body
            self._move(self._by_bucket, uid, bucket_of(old) if old else None, bucket_of(body))
            self._move(self._by_key, uid, key_of(old) if old else None, key_of(body))
        return True

    def pop(self, uid: str) -> None:
        with self._lock:
            old = self._bodies.pop(uid, None)
            if old is not None:
                self._move(self._by_bucket, uid, bucket_of(old), None)
                self._move(self._by_key, uid, key_of(old), None)

    def preload(self, items: Iterable[RawBody]) -> None:
        for raw in items:
            self.put(raw)

    def on_bucket_or_key(self, bucket: str | None, key: str | None) -> list[RawBody]:
        uids = set(self._by_bucket.get(bucket, ())) if bucket else set()
        if key:
            uids |= set(self._by_key.get(key, ()))
        return [b for u in uids if (b := self._bodies.get(u)) is not None]

    def uids(self) -> list[str]:
        return list(self._bodies)

    @staticmethod
    def _move(table: dict[str, set[str]], uid: str, old: str | None, new: str | None) -> None:
        if old == new:
            return
        if old is not None:
            members = table.get(old)
            if members is not None:
                members.discard(uid)
                if not members:
                    del table[old]
        if new is not None:
            table.setdefault(new, set()).add(uid)
