"""The scheduler's job for one object, on a worker thread: a verification pass, or the cleanup of
an object being deleted. Builds the pass's inputs from the object store and the indexes, runs
:mod:`bucketaccess.reconcile`, writes the outcome, and says when to come back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import random
import time

from kubernetes.client.exceptions import ApiException

from ..aws.cache import CachedReader
from ..aws.errors import AwsError, AwsUnavailable
from ..aws.ports import AwsReader
from ..grants.plan import Claim
from ..reconcile import Deps, Outcome, Peer, owners, release, run_pass, sweep
from ..resources import BucketPolicyMode, KMSKeyUsersMode, RawBody
from ..vocabulary import ConditionType, EventType, Reason
from . import events, finalizers, status, subjects
from .irsa import service_account_resolver
from .leader import NotLeader
from .runtime import Runtime

SKIP_CLEANUP = "s3access.dev/skip-cleanup"
CLEANUP_RETRY_S, CLEANUP_RETRY_MAX_S = 15.0, 120.0
REFUSED_RETRY_S = 60.0
log = logging.getLogger(__name__)


SWEEP = "sweep"  # the scheduler's key of the sweep over every recorded bucket and key
SWEEP_RETRY_S = 10.0
SWEEP_FAILED_RETRY_S = 60.0


def work(uid: str, rt: Runtime) -> float | None:
    """A pass, or the cleanup of an object being deleted; returns the delay to the next run.

    Only the lease holder works. A standby drops the run: the replica that acquires the lease
    schedules every object afresh (:func:`on_leadership`). A run that loses the lease midway
    stops at its next write attempt, a retry included (the fence raises NotLeader before it is sent).
    """
    if not rt.leading():
        rt.metrics.standby_skips.inc()
        return None
    try:
        if uid == SWEEP:
            return run_sweep(rt)
        body = rt.store.get(uid)
        if body is None or not rt.indexes_ready():
            return None
        if body["metadata"].get("deletionTimestamp"):
            return run_cleanup(body, rt)
        return _until_verify_now(rt, uid, drive_pass(body, rt))
    except NotLeader as exc:
        log.warning("%s: stopped, %s", uid, exc)
        return None


def _until_verify_now(rt: Runtime, uid: str, delay: float | None) -> float | None:
    """The delay to the next run, no later than a "verify now" pass still waiting for its time
    (the scheduler keeps one due time per object, and this pass may have come before it)."""
    due = rt.verify_now.waiting(uid)
    if due is None:
        return delay
    wait = max(0.0, due - rt.verify_now.clock())
    return wait if delay is None else min(delay, wait)


def on_leadership(rt: Runtime, leading: bool) -> None:
    """In the event loop, when this replica acquires or loses the lease."""
    if not leading:
        rt.metrics.forget_objects()  # the new holder reports them
        # the statuses the new holder writes are fresher than what our passes planned: should the
        # lease come back, plan from them, not put back a grant the other replica revoked
        rt.writes.forget_claims()
        return
    rt.metrics.acquisitions.inc()
    if rt.scheduler is None:
        return
    # every object is verified again now, with reads up to an interval old (as after a restart):
    # the previous holder may have died in the middle of anything
    for uid in rt.store.uids():
        rt.metrics.expect(uid, rt.config.default_interval_s)
        rt.scheduler.soon(uid)
    rt.scheduler.soon(SWEEP)


def _transient(outcome: Outcome) -> bool:
    return any(
        c.type is ConditionType.IdentityPolicyAllows and c.reason is Reason.ServiceAccountNotReadable
        for c in outcome.conditions
    )


def drive_pass(body: RawBody, rt: Runtime) -> float | None:
    """Verify one BucketAccess, reconcile its grants, write its status; returns the next delay."""
    meta = body["metadata"]
    uid = meta.get("uid", "")
    subject = subjects.subject(body, rt)
    interval = subject.spec.interval(rt.config.default_interval_s)
    rt.metrics.expect(uid, interval)
    reader = _reader(rt, uid, interval)
    started = time.time()
    deps = Deps(
        reader=reader,
        resolve_service_account=service_account_resolver(rt.api),
        cluster_name=rt.config.cluster_name,
        oidc_issuer=rt.config.oidc_issuer,
    )
    managed = subjects.observed_status(body).managed

    def on_bucket(key: str | None) -> list[Peer]:
        return subjects.peers(rt, subject.spec.bucket, key or managed.kms_key_arn)

    def before_write(own: Claim) -> None:
        rt.store.put(finalizers.ensure(rt.api, body))
        rt.record.add(
            bucket=own.bucket if own.bucket_mode is BucketPolicyMode.Manage else None,
            key=own.kms_key_arn if own.kms_mode is not KMSKeyUsersMode.Observe else None,
        )

    try:
        with rt.metrics.verify_seconds.time():
            outcome = run_pass(subject, on_bucket, deps, rt.writes, before_write)
            if _transient(outcome):
                # the API server did not answer for the ServiceAccount: no verdict, keep the last one
                # (its roleArn included, which other passes plan with) and ask again soon
                return min(REFUSED_RETRY_S, interval)
            rt.store.put(status.write(rt.api, body, outcome, dt.datetime.now(dt.UTC)))
            rt.tracking.verified(uid, _reads_since(reader, started))
    except finalizers.ObjectGoing:
        return None  # being deleted: nothing was written, and the deletion event takes over
    except status.ObjectGone:
        # deleted without a DELETED event reaching this process (the watch was down): forget it
        # here, so that no pass or sweep plans its grant from the store any longer
        # (on this worker thread: everything but the scheduler, which returning None leaves alone)
        log.info("%s no longer exists: forgotten", subject.owner)
        rt.forget(uid, scheduler=False)
        return None
    except status.StatusForbidden:
        return min(REFUSED_RETRY_S, interval)  # an RBAC fix shows within a minute
    written = rt.store.get(uid)
    since = subjects.observed_status(written).ready_since if written is not None else None
    rt.metrics.set_ready(uid, outcome.ready.status, outcome.ready.reason, since)
    rt.metrics.passed(uid, interval)
    log.info("verified %s: Ready=%s %s", subject.owner, outcome.ready.status, outcome.ready.reason)
    if rt.tracking.first_verified(uid):
        # objects created (or resumed) together would otherwise stay in step for ever
        return interval + phase(uid, interval)
    return interval * random.uniform(0.95, 1.05)


def _reader(rt: Runtime, uid: str, interval: float) -> AwsReader:
    """The reads a pass may share, by what caused it.

    "Verify now" (the s3access.dev/verify annotation) takes only reads made after it was asked,
    in the pass :mod:`.verify_now` allowed it (an earlier pass, periodic or caused by a change,
    leaves it waiting).

    A periodic (or resumed) pass accepts reads up to its own interval old, so that each AWS
    resource is read about once per interval. A pass caused by a change takes reads made after
    the change was seen, or within --cache-ttl: after "fix AWS, then touch the object" the
    verdict reflects the fix, and a bulk create of thousands of objects still reads each AWS
    resource about once after the last of them, not once per TTL while their passes catch up.
    """
    # taken even without a cache: a verify-now pass left waiting would be rescheduled at once, forever
    asked = rt.verify_now.take(uid)
    cached = rt.cached_reader
    if cached is None:
        return rt.reader  # --cache-ttl 0: no cache at all
    seen = rt.tracking.take_change(uid)
    if asked is not None:
        return cached.within(time.monotonic() - asked)  # only reads made after it was asked
    ttl = rt.config.cache_ttl_s
    if seen is not None:
        return cached.within(max(ttl, time.monotonic() - seen))
    return cached.within(max(ttl, interval))


def _reads_since(reader: AwsReader, started: float) -> float:
    """Epoch seconds after which every AWS read of a pass started at ``started`` was made: the
    oldest cached answer it took, else the pass's start (it read AWS itself, or nothing)."""
    if isinstance(reader, CachedReader) and reader.oldest is not None:
        age = reader.cache.clock() - reader.oldest
        return min(started, time.time() - age)
    return started


def run_cleanup(body: RawBody, rt: Runtime) -> float | None:
    """Remove this object's share of the managed statements and grants, then its finalizer."""
    meta = body["metadata"]
    uid = meta.get("uid", "")
    if finalizers.FINALIZER not in (meta.get("finalizers") or ()):
        return None
    managed = subjects.observed_status(body).managed
    subject = subjects.subject(body, None)
    if (meta.get("annotations") or {}).get(SKIP_CLEANUP) == "true":
        log.warning("%s: %s=true, leaving its AWS grants in place", subject.owner, SKIP_CLEANUP)
    elif managed:
        on_bucket = subjects.peers(rt, managed.bucket or subject.spec.bucket, managed.kms_key_arn)
        try:
            applied = release(subject, managed, on_bucket, rt.writes, uid)
        except AwsUnavailable as exc:
            attempt = rt.tracking.cleanup_failed(uid)
            delay = min(CLEANUP_RETRY_S * 2.0**attempt, CLEANUP_RETRY_MAX_S)
            log.warning(
                "cleanup of %s: AWS is unavailable (%s); retrying in %.0fs", subject.owner, exc.message, delay
            )
            return delay
        except AwsError as exc:  # refused by AWS (access denied, ...): say so, and try again later
            events.post(rt.api, body, EventType.Warning, Reason.WriteFailed, f"cleanup: {exc.message}"[:1000])
            return REFUSED_RETRY_S
        for a in applied:
            for event in a.events:
                events.post(rt.api, body, event.type, event.reason, event.message)
            if a.refusal:
                events.post(rt.api, body, EventType.Warning, a.refusal, f"cleanup of {a.message}")
                return REFUSED_RETRY_S
    rt.tracking.cleanup_done(uid)
    rt.metrics.set_ready(uid, None)
    rt.store.put(finalizers.release(rt.api, body))
    return None


def run_sweep(rt: Runtime) -> float:
    """Every interval: each bucket and key this operator has written to is brought to what its
    live, admitted objects want, so no principal outlives its object, however the object went."""
    if not rt.indexes_ready():
        return SWEEP_RETRY_S  # admission needs the classes and namespaces: sweep once they are known
    buckets, keys = rt.record.snapshot()
    # each resource on its own: one that cannot be read or written does not hold up the others
    done = [_swept(rt, bucket=bucket) for bucket in buckets] + [_swept(rt, key=key) for key in keys]
    return (
        rt.config.default_interval_s if all(done) else min(SWEEP_FAILED_RETRY_S, rt.config.default_interval_s)
    )


def _swept(rt: Runtime, *, bucket: str | None = None, key: str | None = None) -> bool:
    resource = bucket or key or ""
    writes = rt.writes
    if rt.record.adopts(resource):
        # the record predates shard tags: what this shard wrote there is under the untagged names
        writes = dataclasses.replace(writes, shard=writes.shard.adopting())
    try:
        on_it = subjects.peers(rt, bucket, key)
        applied, holds = sweep(bucket=bucket, key=key, peers=on_it, writes=writes)
    except (AwsError, ApiException) as exc:
        log.warning("sweep of %s failed (%s); trying again soon", bucket or key, getattr(exc, "message", exc))
        return False
    # who holds which statement is worked out only when there is an edit to tell them of
    edited = bucket is not None and any(a.edited for a in applied)
    held_by = owners(bucket, on_it, rt.writes.shard) if edited and bucket is not None else {}
    for a in applied:
        if a.wrote:
            log.info("sweep of %s: removed what no live, admitted object wants", a.target)
        for sid in a.edited:  # a hand edit the sweep put back: tell the objects whose grant it is
            for p in held_by.get(sid, ()):
                body = rt.store.get(p.uid)
                if body is not None:
                    message = f"bucket {a.target}: managed statement {sid} had been edited outside the operator and was put back"
                    events.post(rt.api, body, EventType.Warning, Reason.RestoredManagedStatement, message)
        if a.refusal:
            log.warning("sweep of %s: %s", a.target, a.message)
    if not holds:
        rt.record.drop(bucket=bucket, key=key)
    done = not any(a.refusal for a in applied)
    if done and writes is not rt.writes:
        log.info("%s: the untagged managed names of this shard's earlier version are replaced", resource)
        rt.record.adopted(resource)
    return done


def phase(uid: str, interval: float) -> float:
    """A stable per-object offset in [0, interval): objects created together verify apart."""
    digest = int(hashlib.sha256(uid.encode()).hexdigest()[:8], 16)
    return interval * (digest / 0xFFFFFFFF)
