"""A shared read cache keyed by AWS resource, with single-flight and a TTL.

One thousand BucketAccess objects on twenty buckets cost twenty bucket reads per TTL, not a
thousand: every reader call is keyed by the resource it reads, concurrent identical calls wait
for the one in flight, and results (including NotFound and OperatorAccessDenied, which are
answers too) live for ``ttl`` seconds. AwsUnavailable is never cached: the next caller retries.
The operator invalidates a key after writing to that resource.

A caller may accept older answers (``max_age``): a periodic pass takes reads up to its own
interval old, so each AWS resource is read about once per interval however many objects use it
and however their passes are spread over the interval; a pass caused by a change takes ``ttl``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .errors import AwsUnavailable
from .ports import (
    AwsReader,
    BucketInfo,
    ClusterInfo,
    KeyInfo,
    OIDCProviderInfo,
    OrgInfo,
    OrgReach,
    PodIdentityAssociation,
    RoleInfo,
    VpcEndpointInfo,
    issuer_host,
)

T = TypeVar("T")


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    coalesced: int = 0  # callers that waited for an identical call already in flight


@dataclass
class _Entry:
    loaded: float  # when the answer arrived (or the call started, while in flight)
    future: Future[Any]
    started: float = 0.0  # when the call started: the answer is no older than this


@dataclass
class TTLCache:
    ttl: float
    clock: Callable[[], float] = time.monotonic
    stats: CacheStats = field(default_factory=CacheStats)
    _entries: dict[tuple[str, ...], _Entry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # prefix -> when it was last invalidated (the operator invalidates right after each write)
    _invalidated: dict[tuple[str, ...], float] = field(default_factory=dict)

    def get(self, key: tuple[str, ...], load: Callable[[], T], max_age: float | None = None) -> T:
        return self.get_dated(key, load, max_age)[0]

    def get_dated(
        self, key: tuple[str, ...], load: Callable[[], T], max_age: float | None = None
    ) -> tuple[T, float]:
        """The answer, and when the call that made it started (by ``clock``)."""
        now = self.clock()
        age = self.ttl if max_age is None else max_age
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and (not entry.future.done() or entry.loaded + age > now):
                if entry.future.done():
                    self.stats.hits += 1
                else:
                    self.stats.coalesced += 1
                future, started = entry.future, entry.started
                owner = False
            else:
                self.stats.misses += 1
                future, started = Future(), now
                self._entries[key] = _Entry(now, future, now)
                owner = True
        if owner:
            try:
                future.set_result(load())
            except AwsUnavailable as exc:
                with self._lock:
                    if self._entries.get(key) is not None and self._entries[key].future is future:
                        del self._entries[key]
                future.set_exception(exc)
            except BaseException as exc:  # NotFound / AccessDenied are answers: cache them too
                future.set_exception(exc)
            with self._lock:
                if key in self._entries and self._entries[key].future is future:
                    self._entries[key].loaded = self.clock()
        return future.result(), started

    def invalidate(self, *prefix: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[: len(prefix)] == prefix]:
                del self._entries[key]
            self._invalidated[prefix] = self.clock()

    def invalidated_since(self, since: float, *keys: tuple[str, ...]) -> bool:
        """Was any of ``keys`` invalidated (written) after ``since``? A read made before that
        may be older than the write, and a verdict from it must not be published."""
        with self._lock:
            return any(
                when > since and key[: len(prefix)] == prefix
                for prefix, when in self._invalidated.items()
                for key in keys
            )

    def answers(self, *prefix: str) -> list[tuple[tuple[str, ...], Any]]:
        """The answers held under ``prefix`` (whatever their age), without reading: what the
        operator last read, for finding the objects an AWS change event is about."""
        with self._lock:
            found = [(k, e.future) for k, e in self._entries.items() if k[: len(prefix)] == prefix]
        return [(k, f.result()) for k, f in found if f.done() and f.exception() is None]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class CachedReader:
    """An :class:`AwsReader` whose every read goes through one shared :class:`TTLCache`."""

    def __init__(self, inner: AwsReader, cache: TTLCache, max_age: float | None = None) -> None:
        self.inner = inner
        self.cache = cache
        self.max_age = max_age
        # when the oldest call behind an answer this reader gave started (the cache's clock): a
        # verdict made from them knows of every AWS change made before it
        self.oldest: float | None = None

    def within(self, max_age: float) -> CachedReader:
        """The same cache, accepting answers up to ``max_age`` seconds old (a reader of its own:
        ``oldest`` counts only its answers)."""
        return CachedReader(self.inner, self.cache, max_age)

    def _get(self, key: tuple[str, ...], load: Callable[[], T]) -> T:
        try:
            found, started = self.cache.get_dated(key, load, self.max_age)
        except BaseException:
            self.oldest = float("-inf")  # an error answer, of no known age
            raise
        self.oldest = started if self.oldest is None else min(self.oldest, started)
        return found

    def caller_account(self) -> str:
        return self._get(("caller",), self.inner.caller_account)

    def role(self, arn: str) -> RoleInfo:
        return self._get(("role", arn), lambda: self.inner.role(arn))

    def bucket(self, name: str) -> BucketInfo:
        return self._get(("bucket", name), lambda: self.inner.bucket(name))

    def key(self, key_ref: str, region: str) -> KeyInfo:
        return self._get(("key", key_ref, region), lambda: self.inner.key(key_ref, region))

    def account_public_access_block(self, account: str) -> dict[str, bool] | None:
        return self._get(("account-pab", account), lambda: self.inner.account_public_access_block(account))

    def vpc_endpoint(self, endpoint_id: str, region: str) -> VpcEndpointInfo:
        return self._get(("vpce", endpoint_id, region), lambda: self.inner.vpc_endpoint(endpoint_id, region))

    def cluster(self, name: str) -> ClusterInfo:
        return self._get(("eks-cluster", name), lambda: self.inner.cluster(name))

    def oidc_provider(self, account: str, issuer: str) -> OIDCProviderInfo | None:
        host = issuer_host(issuer)
        return self._get(("oidc-provider", account, host), lambda: self.inner.oidc_provider(account, issuer))

    def pod_identity_associations(
        self, cluster: str, namespace: str, service_account: str
    ) -> tuple[PodIdentityAssociation, ...]:
        return self._get(
            ("pod-identity", cluster, namespace, service_account),
            lambda: self.inner.pod_identity_associations(cluster, namespace, service_account),
        )

    def organization(self, accounts: tuple[str, ...]) -> OrgInfo | None:
        return self._get(
            ("org", *sorted(set(accounts))), lambda: self.inner.organization(tuple(sorted(set(accounts))))
        )

    def org_policy_reach(self, policy_id: str, targets: tuple[str, ...] | None) -> OrgReach:
        # under "org": every Organizations change event drops them with the chains
        return self._get(
            ("org", "reach", policy_id, *(targets if targets is not None else ("*",))),
            lambda: self.inner.org_policy_reach(policy_id, targets),
        )
