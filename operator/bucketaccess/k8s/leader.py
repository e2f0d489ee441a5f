"""Leader election on a ``coordination.k8s.io`` Lease: of the replicas, only the holder verifies
and writes; the others watch, keep their store warm, and take over when the lease runs out.

Why not ``kubernetes.leaderelection``: it tells a process that it leads through callbacks and a
flag, so a process paused past its lease (SIGSTOP, a frozen VM, a long stall) wakes up still
believing it leads until its next renew fails, and may write in between. Here leading is a
deadline on the monotonic clock, taken when the last successful renew was *sent*
(:meth:`LeaderElector.holds`); every HTTP attempt of a write checks it right before it is sent
(:class:`Fence`): on the boto3 clients before each attempt, botocore's retries and the writer's
included (:mod:`bucketaccess.aws.attempts`), and in :class:`FencedApiClient`. A process that wakes
up after its lease ran out finds the deadline passed before it sends anything more.

The timings follow client-go's: the holder renews every ``retry_period``, counts as leader for
``renew_deadline`` after a renew it sent, and a candidate takes over only after it has seen the
lease unchanged for ``lease_duration`` (> ``renew_deadline``), by its own clock: no two
processes' wall clocks are compared.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NewType, cast

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .settings import LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD, configured

log = logging.getLogger(__name__)


class NotLeader(Exception):
    """A write was about to be made without holding the lease; it was not made."""


@dataclass(frozen=True)
class LeaseTimings:
    lease_duration_s: float = configured(LEASE_DURATION)
    renew_deadline_s: float = configured(RENEW_DEADLINE)
    retry_period_s: float = configured(RETRY_PERIOD)

    def problem(self) -> str | None:
        """What makes these timings unsafe, or None."""
        if not self.retry_period_s < self.renew_deadline_s < self.lease_duration_s:
            return (
                "lease timings must satisfy retry period < renew deadline < lease duration "
                f"(got {self.retry_period_s:g}s, {self.renew_deadline_s:g}s, {self.lease_duration_s:g}s)"
            )
        return None


# What this process writes as the Lease's spec.holderIdentity: which candidate holds the lease. Not
# the workload's session nor an IAM identity (kopf pins its peering identity the same way).
HolderId = NewType("HolderId", str)


def new_holder_id() -> HolderId:
    """The pod's name (the hostname in a pod) and a random suffix: a restarted container is a new
    candidate, never mistaken for the holder it replaced."""
    return HolderId(f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class LeaderElector:
    def __init__(
        self,
        api: client.ApiClient,
        namespace: str,
        name: str,
        timings: LeaseTimings,
        me: HolderId | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.leases = client.CoordinationV1Api(api)
        self.namespace, self.name = namespace, name
        self.timings = timings
        self.me = me or new_holder_id()
        self.clock = clock
        self._valid_until = float("-inf")  # the monotonic deadline of our leadership
        self._observed: tuple[Any, ...] | None = None  # (holder, renewTime, resourceVersion) last seen
        self._observed_at = 0.0

    def holds(self) -> bool:
        return self.clock() < self._valid_until

    def try_once(self) -> bool:
        """One acquire-or-renew round against the API server; True when we hold the lease after it."""
        sent = self.clock()
        try:
            lease = self.leases.read_namespaced_lease(self.name, self.namespace)
        except ApiException as exc:
            if exc.status != 404:
                log.warning("lease %s/%s: read failed (%s)", self.namespace, self.name, exc.reason)
                return self.holds()
            return self._create(sent)
        spec = lease.spec or client.V1LeaseSpec()
        version = lease.metadata.resource_version if lease.metadata else None
        seen = (spec.holder_identity, spec.renew_time, version)
        if seen != self._observed:
            self._observed, self._observed_at = seen, sent
        ours = spec.holder_identity == self.me
        duration = float(spec.lease_duration_seconds or self.timings.lease_duration_s)
        if not ours and spec.holder_identity and sent - self._observed_at < duration:
            return False  # someone else holds it and it has not run out by our clock
        now = _now()
        if not ours:
            spec.acquire_time = now
            spec.lease_transitions = (spec.lease_transitions or 0) + 1
        spec.holder_identity = self.me
        spec.renew_time = now
        spec.lease_duration_seconds = round(self.timings.lease_duration_s)
        lease.spec = spec
        try:
            # the resourceVersion we read makes this a compare-and-swap: of two candidates, one wins
            self.leases.replace_namespaced_lease(self.name, self.namespace, lease)
        except ApiException as exc:
            if exc.status != 409:
                log.warning("lease %s/%s: update failed (%s)", self.namespace, self.name, exc.reason)
            return self.holds()
        self._valid_until = sent + self.timings.renew_deadline_s
        return True

    def _create(self, sent: float) -> bool:
        now = _now()
        body = client.V1Lease(
            metadata=client.V1ObjectMeta(name=self.name, namespace=self.namespace),
            spec=client.V1LeaseSpec(
                holder_identity=self.me,
                lease_duration_seconds=round(self.timings.lease_duration_s),
                acquire_time=now,
                renew_time=now,
                lease_transitions=0,
            ),
        )
        try:
            self.leases.create_namespaced_lease(self.namespace, body)
        except ApiException as exc:
            if exc.status == 404:
                log.warning(
                    "lease %s/%s: namespace %s does not exist", self.namespace, self.name, self.namespace
                )
            elif exc.status != 409:
                log.warning("lease %s/%s: create failed (%s)", self.namespace, self.name, exc.reason)
            return False
        self._valid_until = sent + self.timings.renew_deadline_s
        return True

    def release(self) -> None:
        """On a clean shutdown: hand the lease over at once instead of letting it run out."""
        if not self.holds():
            return
        self._valid_until = float("-inf")  # nothing more is written from here on
        try:
            lease = self.leases.read_namespaced_lease(self.name, self.namespace)
            if lease.spec is None or lease.spec.holder_identity != self.me:
                return
            lease.spec.holder_identity = None
            lease.spec.lease_duration_seconds = 1
            self.leases.replace_namespaced_lease(self.name, self.namespace, lease)
        except ApiException as exc:
            log.warning("lease %s/%s: release failed (%s)", self.namespace, self.name, exc.reason)

    async def run(self, on_change: Callable[[bool], None]) -> None:
        """Acquire and renew for ever; ``on_change(leading)`` runs in the event loop on each change."""
        leading = False
        while True:
            try:
                await asyncio.to_thread(self.try_once)
            except Exception as exc:  # the API server unreachable, a timeout: try again next period
                log.warning("lease %s/%s: %s", self.namespace, self.name, exc)
            now = self.holds()
            if now != leading:
                leading = now
                verb = "acquired" if now else "lost"
                log.info("%s lease %s/%s as %s", verb, self.namespace, self.name, self.me)
                on_change(now)
            # a candidate retries as often as the holder renews: it sees a released lease quickly
            await asyncio.sleep(self.timings.retry_period_s)


class WriteTarget(StrEnum):
    """Where a fenced write goes: the label of ``bucketaccess_fenced_writes_total``."""

    AWS = "aws"
    KUBERNETES = "kubernetes"


class Fence:
    """The check every attempt of a write makes right before it is sent: the lease is held, or
    NotLeader."""

    def __init__(
        self, holds: Callable[[], bool], on_refused: Callable[[WriteTarget], None] | None = None
    ) -> None:
        self.holds = holds
        self.on_refused = on_refused

    def check(self, target: WriteTarget, what: str = "") -> None:
        """``what``: the request (``s3:PutBucketPolicy``, ``PATCH https://...``), for the log."""
        if not self.holds():
            if self.on_refused is not None:
                self.on_refused(target)
            raise NotLeader(f"not sending {what or target}: this replica does not hold the lease")

    def check_aws(self, action: str) -> None:
        """The :data:`~bucketaccess.aws.attempts.WriteCheck` of the boto3 clients (and MemoryAws):
        run before each HTTP attempt of an AWS write, botocore's retries and the writer's included."""
        self.check(WriteTarget.AWS, action)


ALWAYS = Fence(lambda: True)  # leader election off: one replica, which may always write


READS = frozenset({"GET", "HEAD", "OPTIONS"})
# No retry inside urllib3 for a write: it re-sends any request whose connection failed and a PUT or
# DELETE whose answer did not come, past a check made before the first attempt. A redirect is
# handed back, not followed (following it would send the write again).
ONE_ATTEMPT = urllib3.Retry(total=0, raise_on_redirect=False)


class _FencedPool:
    """The urllib3 pool under a FencedApiClient: every request the client sends passes through
    :meth:`request` once, so a write, made one attempt, is checked right before that attempt."""

    def __init__(self, inner: urllib3.PoolManager, fence: Fence) -> None:
        self.inner = inner
        self.fence = fence

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if method.upper() not in READS:
            self.fence.check(WriteTarget.KUBERNETES, f"{method.upper()} {url}")
            kwargs["retries"] = ONE_ATTEMPT
        return self.inner.request(method, url, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # clear() and the rest: the pool's own
        return getattr(self.inner, name)


class FencedApiClient(client.ApiClient):
    """The API client of every write the operator makes to Kubernetes (status, finalizers, Events,
    its record): each request that is not a read is sent in one attempt, fenced right before it,
    and counted once it succeeded; reads keep urllib3's retries. The elector's own Lease requests
    go through a client of their own."""

    def __init__(
        self,
        configuration: client.Configuration,
        fence: Fence,
        on_write: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(configuration)
        self.fence = fence
        self.on_write = on_write
        # the REST layer only calls request() and clear() on its pool: a stand-in that is not a
        # PoolManager serves it
        self.rest_client.pool_manager = cast(
            urllib3.PoolManager, _FencedPool(self.rest_client.pool_manager, fence)
        )

    def call_api(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        # every typed API method of the client sends its request through call_api
        out = super().call_api(method, url, *args, **kwargs)
        written = method.upper() not in READS and 200 <= int(getattr(out, "status", 0) or 0) < 300
        if self.on_write is not None and written:
            self.on_write(method.upper())
        return out
