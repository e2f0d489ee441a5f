"""Kopf handlers: they watch and schedule; the work runs in :mod:`.scheduler`'s threads.

Kopf does what it is good at here (watch streams with reconnects, small indexes of classes and
namespace labels), through event handlers and indexes only: no change handlers, so Kopf writes
nothing on the objects (no progress annotations, no finalizer of its own). The operator keeps the
newest body of every BucketAccess (:mod:`.store`, filled by a full listing before the first
pass), schedules a verification pass on first sight, on a spec change, on a change of its class
or namespace labels and every verifyInterval (with a per-object phase, so that thousands of
objects do not fire together), and owns the cleanup finalizer (:mod:`.finalizers`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fnmatch
import hashlib
import logging
import random
import threading
import time
from collections.abc import Mapping
from typing import Any

import kopf
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from .. import reconciler
from ..aws.boto import BotoReader
from ..aws.cache import CachedReader, TTLCache
from ..aws.errors import AwsUnavailable
from ..aws.writer import BotoWriter
from ..durations import parse_duration
from . import events, finalizers, status
from .config import OperatorConfig
from .metrics import Metrics
from .scheduler import Scheduler
from .store import ObjectStore


class NoDiffBase(kopf.AnnotationsDiffBaseStorage):
    """Kopf builds a deep copy of every body on every event for the diffs of change handlers;
    there are none here, so the essence is empty and costs nothing (a quarter of Kopf's CPU per
    event at thousands of objects)."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> Any:
        return {}


GROUP, VERSION = "s3access.dev", "v1alpha1"
FINALIZER = finalizers.FINALIZER
SKIP_CLEANUP = "s3access.dev/skip-cleanup"
INDEXES = ("class_index", "namespace_index")
CLEANUP_RETRY_S, CLEANUP_RETRY_MAX_S = 15.0, 120.0
REFUSED_RETRY_S = 60.0
log = logging.getLogger(__name__)


def kube_api(pool: int = 4) -> client.ApiClient:
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    configuration = client.Configuration.get_default_copy()
    # one connection per worker thread: past the pool size urllib3 opens (and TLS-handshakes)
    # a new connection for each request and drops it afterwards
    configuration.connection_pool_maxsize = pool
    return client.ApiClient(configuration)


def list_objects(
    api: client.ApiClient, namespaces: tuple[str, ...], page_size: int = 500
) -> list[dict[str, Any]]:
    """Every BucketAccess this process watches, read in pages."""
    objs = client.CustomObjectsApi(api)
    exact = [n for n in namespaces if not any(c in n for c in "*?[")]
    scopes: list[str | None] = list(exact) if namespaces and len(exact) == len(namespaces) else [None]
    items: list[dict[str, Any]] = []
    for ns in scopes:
        token = None
        while True:
            page = (
                objs.list_namespaced_custom_object(
                    GROUP, VERSION, ns, "bucketaccesses", limit=page_size, _continue=token
                )
                if ns
                else objs.list_cluster_custom_object(
                    GROUP, VERSION, "bucketaccesses", limit=page_size, _continue=token
                )
            )
            items += page["items"]
            token = page["metadata"].get("continue")
            if not token:
                break
    if namespaces and scopes == [None]:  # glob patterns: keep what they match
        items = [i for i in items if any(fnmatch.fnmatch(i["metadata"]["namespace"], n) for n in namespaces)]
    return items


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    cfg: OperatorConfig = memo.get("config") or OperatorConfig()
    # Kopf would post every handler log line as an Event; we post our own, on transitions only.
    settings.posting.level = logging.WARNING
    # The initial listing in pages: at thousands of objects one response would be a memory spike
    # in the operator and in the API server.
    settings.watching.chunk_size = 500
    # Reconnect every ten minutes even when the stream looks healthy (a proxy or load balancer
    # may keep a dead stream open); Kopf resumes from the last resourceVersion, without a relist.
    settings.watching.server_timeout = 600
    settings.watching.client_timeout = 660
    settings.watching.connect_timeout = 30
    # Handlers here are async and only record and schedule: Kopf's thread pool stays small.
    settings.execution.max_workers = 2
    settings.persistence.diffbase_storage = NoDiffBase(prefix=GROUP)
    memo.config = cfg
    memo.cache = TTLCache(cfg.cache_ttl_s)
    memo.metrics = Metrics()
    memo.metrics.state.cache = memo.cache.stats
    boto = BotoReader(
        region=cfg.region,
        org_reader_role_arn=cfg.org_reader_role_arn,
        account_reader_role_name=cfg.account_reader_role_name,
        max_pool=cfg.workers * 2,
        on_client=memo.metrics.hook,
    )
    # --cache-ttl 0 turns the shared cache off (every object reads for itself): the scale
    # benchmark's baseline, never a production setting
    memo.reader = CachedReader(boto, memo.cache) if cfg.cache_ttl_s > 0 else boto
    memo.writes = reconciler.WriteDeps(BotoWriter(boto), memo.cache, _lock_table())
    memo.api = kube_api(pool=cfg.workers + 4)
    memo.store = ObjectStore()
    # Before any watch event: reconciliation plans a bucket from all its objects, so the store
    # must hold every object before the first pass (Kopf starts watching after start-up).
    memo.store.preload(await asyncio.to_thread(list_objects, memo.api, cfg.namespaces))
    memo.tracked = set()  # uids scheduled at least once by this process
    memo.fresh = {}  # uid -> when a change that calls for fresh reads was seen (monotonic)
    memo.seen = set()  # uids verified at least once by this process
    memo.cleanup_attempts = {}
    # Kopf hands each object a shallow copy of this memo: shared state is mutated in place,
    # never re-assigned from a handler.
    memo.indexes = {}
    memo.scheduler = Scheduler(lambda uid: work(uid, memo), cfg.workers)
    memo.metrics.state.scheduler = memo.scheduler.stats
    if cfg.metrics_port:
        memo.metrics.serve(cfg.metrics_port)
    memo.scheduler_task = asyncio.create_task(memo.scheduler.run())


@kopf.on.cleanup()
async def shutdown(memo: kopf.Memo, **_: Any) -> None:
    scheduler: Scheduler | None = memo.get("scheduler")
    if scheduler is None:
        return
    memo.scheduler_task.cancel()
    try:
        await asyncio.wait_for(scheduler.drain(), timeout=10)
    except TimeoutError:
        log.warning("shutting down with verification passes still in flight")
    scheduler.close()


def _lock_table() -> Any:
    locks: dict[str, threading.Lock] = {}
    guard = threading.Lock()

    def lock(name: str) -> threading.Lock:
        with guard:
            return locks.setdefault(name, threading.Lock())

    return lock


# Index handlers are async: they are pure and cheap, and a sync one would cost a thread hop on
# every watch event.
@kopf.index(GROUP, VERSION, "bucketaccessclasses")
async def class_index(name: str, spec: kopf.Spec, **_: Any) -> dict[str, dict[str, Any]]:
    return {name: dict(spec)}


@kopf.index("", "v1", "namespaces")
async def namespace_index(name: str, labels: kopf.Labels, **_: Any) -> dict[str, dict[str, str]]:
    return {name: dict(labels)}


# ----------------------------------------------------------------------------- scheduling


@kopf.on.event(GROUP, VERSION, "bucketaccesses")
async def observed(event: kopf.RawEvent, memo: kopf.Memo, **kwargs: Any) -> None:
    if not memo.indexes:  # Kopf runs this only once the class and namespace indexes are filled
        memo.indexes.update({k: kwargs[k] for k in INDEXES})
    raw = event["object"]
    uid = raw["metadata"]["uid"]
    if event["type"] == "DELETED":
        memo.store.pop(uid)
        memo.tracked.discard(uid)
        memo.fresh.pop(uid, None)
        memo.seen.discard(uid)
        memo.cleanup_attempts.pop(uid, None)
        memo.scheduler.forget(uid)
        memo.metrics.set_ready(uid, None)
        return
    before = memo.store.get(uid)
    memo.store.put(raw)
    meta = raw["metadata"]
    if meta.get("deletionTimestamp"):
        if FINALIZER in (meta.get("finalizers") or ()):
            memo.scheduler.soon(uid)
        return
    # First sight (a new object, or every object after a restart) or a new generation (a spec
    # change): verify now. Our own status patches change neither, so they schedule nothing.
    first = uid not in memo.tracked
    memo.tracked.add(uid)
    changed = before is not None and before["metadata"].get("generation") != meta.get("generation")
    if first or changed:
        if changed or not _resumed(raw):
            memo.fresh[uid] = time.monotonic()
        memo.scheduler.soon(uid)


def _resumed(raw: Mapping[str, Any]) -> bool:
    """Verified before (by an earlier process) for its current spec."""
    st = raw.get("status") or {}
    return bool(st.get("lastVerifiedTime")) and st.get("observedGeneration") == raw["metadata"].get(
        "generation"
    )


def _verify_affected(memo: kopf.Memo, event: kopf.RawEvent, affected: Any) -> None:
    if event["type"] is None:
        return  # the initial listing: every BucketAccess is verified on first sight anyway
    for uid in memo.store.uids():
        body = memo.store.get(uid)
        if uid in memo.tracked and body is not None and affected(body):
            memo.fresh[uid] = time.monotonic()
            memo.scheduler.soon(uid)


@kopf.on.event(GROUP, VERSION, "bucketaccessclasses")
async def class_changed(event: kopf.RawEvent, name: str, memo: kopf.Memo, **_: Any) -> None:
    """A class decides admission and modes: its objects are verified again at once."""
    _verify_affected(memo, event, lambda b: (b.get("spec") or {}).get("className") == name)


@kopf.on.event("", "v1", "namespaces")
async def namespace_changed(event: kopf.RawEvent, name: str, memo: kopf.Memo, **_: Any) -> None:
    """Namespace labels take part in admission (a class's namespaceSelector)."""
    _verify_affected(memo, event, lambda b: b["metadata"].get("namespace") == name)


def _confirmed(memo: kopf.Memo, body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The object as the API server has it now, or None (and out of the store) if it is gone.

    For objects the start-up listing found but no watch event has confirmed yet: one deleted
    between the listing and the watch would otherwise stay in the store, and its principal in
    the managed statements, until the next restart.
    """
    meta = body["metadata"]
    try:
        live: dict[str, Any] = client.CustomObjectsApi(memo.api).get_namespaced_custom_object(
            GROUP, VERSION, meta["namespace"], "bucketaccesses", meta["name"]
        )
    except ApiException as exc:
        if exc.status != 404:
            raise
        live = {}
    if live.get("metadata", {}).get("uid") != meta["uid"]:
        memo.store.pop(meta["uid"])
        return None
    memo.store.put(live)
    return live


def _peers(
    memo: kopf.Memo, bucket: str | None, key: str | None, indexes: Mapping[str, kopf.Index[str, Any]]
) -> list[reconciler.Peer]:
    out = []
    for found in memo.store.on_bucket_or_key(bucket, key):
        body = found if found["metadata"]["uid"] in memo.tracked else _confirmed(memo, found)
        if body is None:
            continue
        meta, spec, st = body["metadata"], body.get("spec") or {}, body.get("status") or {}
        if meta.get("deletionTimestamp"):
            continue
        out.append(
            reconciler.Peer(
                meta["namespace"],
                meta["name"],
                spec,
                (spec.get("role") or {}).get("arn") or st.get("roleArn"),
                _first(indexes["class_index"], str(spec.get("className", ""))),
                _first(indexes["namespace_index"], meta["namespace"]),
                (st.get("managed") or {}).get("kmsKeyArn"),
                any(
                    c.get("type") == "IdentityPolicyAllows" and c.get("reason") == "RoleNotFound"
                    for c in st.get("conditions") or ()
                ),
                meta.get("uid", ""),
            )
        )
    return out


def _first(index: kopf.Index[str, Any], key: str) -> Any:
    store = index.get(key)
    return next(iter(store), None) if store is not None else None


def service_account_resolver(api: client.ApiClient) -> Any:
    def resolve(namespace: str, name: str) -> str:
        try:
            sa = client.CoreV1Api(api).read_namespaced_service_account(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                raise reconciler.RoleResolutionError(
                    "ServiceAccountNotFound", f"ServiceAccount {namespace}/{name} does not exist"
                ) from None
            raise reconciler.RoleResolutionError(
                "ServiceAccountNotReadable",
                f"cannot read ServiceAccount {namespace}/{name}: HTTP {exc.status} {exc.reason}",
            ) from None
        arn = (sa.metadata.annotations or {}).get(reconciler.IRSA_ANNOTATION)
        if not arn:
            raise reconciler.RoleResolutionError(
                "RoleAnnotationMissing",
                f"ServiceAccount {namespace}/{name} has no {reconciler.IRSA_ANNOTATION} annotation; add the role ARN there or set spec.role.arn",
            )
        if not arn.startswith("arn:aws:iam::") or ":role/" not in arn:
            raise reconciler.RoleResolutionError(
                "InvalidRoleAnnotation",
                f"ServiceAccount {namespace}/{name}: {reconciler.IRSA_ANNOTATION} is {arn!r}, not an IAM role ARN of the aws partition",
            )
        return arn

    return resolve


def work(uid: str, memo: kopf.Memo) -> float | None:
    """The scheduler's job for one object: a pass, or the cleanup of one being deleted."""
    body = memo.store.get(uid)
    if body is None or not memo.indexes:
        return None
    if body["metadata"].get("deletionTimestamp"):
        return run_cleanup(body, memo)
    return run_pass(body, memo)


def run_pass(body: Mapping[str, Any], memo: kopf.Memo) -> float | None:
    """Verify one BucketAccess, reconcile its grants, write its status; returns the next delay."""
    meta = body["metadata"]
    uid = meta.get("uid", "")
    indexes = memo.indexes
    spec = body.get("spec") or {}
    subject = reconciler.Subject(
        namespace=meta["namespace"],
        name=meta["name"],
        spec=spec,
        class_spec=_first(indexes["class_index"], str(spec.get("className", ""))),
        namespace_labels=_first(indexes["namespace_index"], meta["namespace"]),
    )
    interval = _interval(spec, memo.config)
    deps = reconciler.Deps(_reader(memo, uid, interval), service_account_resolver(memo.api))
    managed = (body.get("status") or {}).get("managed") or {}

    def peers() -> list[reconciler.Peer]:
        return _peers(memo, str(spec.get("bucket")), managed.get("kmsKeyArn"), indexes)

    def before_write() -> None:
        memo.store.put(finalizers.ensure(memo.api, body))

    try:
        with memo.metrics.verify_seconds.time():
            outcome = reconciler.run(subject, peers, deps, memo.writes, before_write)
            memo.store.put(status.write(memo.api, body, outcome, dt.datetime.now(dt.UTC)))
    except finalizers.ObjectGoing:
        return None  # being deleted: nothing was written, and the deletion event takes over
    except status.StatusForbidden:
        return min(REFUSED_RETRY_S, interval)  # an RBAC fix shows within a minute
    memo.metrics.set_ready(uid, outcome.ready.status)
    log.info(
        "verified %s/%s: Ready=%s %s",
        meta["namespace"],
        meta["name"],
        outcome.ready.status,
        outcome.ready.reason,
    )
    if uid not in memo.seen:
        # objects created (or resumed) together would otherwise stay in step for ever
        memo.seen.add(uid)
        return interval + _phase(uid, interval)
    return interval * random.uniform(0.95, 1.05)


def _reader(memo: kopf.Memo, uid: str, interval: float) -> Any:
    """The reads a pass may share, by what caused it.

    A periodic (or resumed) pass accepts reads up to its own interval old, so that each AWS
    resource is read about once per interval. A pass caused by a change takes reads made after
    the change was seen, or within --cache-ttl: after "fix AWS, then touch the object" the
    verdict reflects the fix, and a bulk create of thousands of objects still reads each AWS
    resource about once after the last of them, not once per TTL while their passes catch up.
    """
    if not isinstance(memo.reader, CachedReader):
        return memo.reader  # --cache-ttl 0: no cache at all
    ttl = memo.config.cache_ttl_s
    seen = memo.fresh.pop(uid, None)
    if seen is not None:
        return memo.reader.within(max(ttl, time.monotonic() - seen))
    return memo.reader.within(max(ttl, interval))


def run_cleanup(body: Mapping[str, Any], memo: kopf.Memo) -> float | None:
    """Remove this object's share of the managed statements and grants, then its finalizer."""
    meta = body["metadata"]
    uid = meta.get("uid", "")
    if FINALIZER not in (meta.get("finalizers") or ()):
        return None
    managed = (body.get("status") or {}).get("managed") or {}
    if (meta.get("annotations") or {}).get(SKIP_CLEANUP) == "true":
        log.warning(
            "%s/%s: %s=true, leaving its AWS grants in place", meta["namespace"], meta["name"], SKIP_CLEANUP
        )
    elif managed:
        spec = body.get("spec") or {}
        subject = reconciler.Subject(meta["namespace"], meta["name"], spec, None, None)
        deps = reconciler.Deps(memo.reader, service_account_resolver(memo.api))
        peers = _peers(
            memo,
            str(managed.get("bucket") or spec.get("bucket")),
            managed.get("kmsKeyArn"),
            memo.indexes,
        )
        try:
            applied = reconciler.release(subject, managed, peers, deps, memo.writes, uid)
        except AwsUnavailable as exc:
            attempt = memo.cleanup_attempts.get(uid, 0)
            memo.cleanup_attempts[uid] = attempt + 1
            delay = min(CLEANUP_RETRY_S * 2**attempt, CLEANUP_RETRY_MAX_S)
            log.warning(
                "cleanup of %s/%s: AWS is unavailable (%s); retrying in %.0fs",
                meta["namespace"],
                meta["name"],
                exc.message,
                delay,
            )
            return delay
        for a in applied:
            for kind, reason, message in a.events:
                events.post(memo.api, body, kind, reason, message)
            if a.refusal:
                events.post(memo.api, body, "Warning", a.refusal, f"cleanup of {a.target}: {a.detail}")
                return REFUSED_RETRY_S
    memo.cleanup_attempts.pop(uid, None)
    memo.metrics.set_ready(uid, None)
    memo.store.put(finalizers.release(memo.api, body))
    return None


def _interval(spec: Mapping[str, Any], cfg: OperatorConfig) -> float:
    raw = spec.get("verifyInterval")
    try:
        return max(30.0, parse_duration(raw)) if raw else cfg.default_interval_s
    except ValueError:
        return cfg.default_interval_s


def _phase(uid: str, interval: float) -> float:
    """A stable per-object offset in [0, interval): objects created together verify apart."""
    digest = int(hashlib.sha256(uid.encode()).hexdigest()[:8], 16)
    return interval * (digest / 0xFFFFFFFF)
