"""Kopf handlers: thin shims that hand one BucketAccess to the reconciler and write its outcome.

Kopf keeps its own progress in annotations (prefix s3access.dev), so ``status`` is ours alone,
and no handler returns a value (Kopf would write it into ``status.<handler id>``). Verification
runs on create / update / resume and then from one daemon per object, every verifyInterval with
a per-object phase so that thousands of timers do not fire together.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import random
import threading
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
from . import status
from .config import OperatorConfig
from .metrics import Metrics

GROUP, VERSION = "s3access.dev", "v1alpha1"
ANNOTATION_PREFIX = "s3access.dev"
FINALIZER = "s3access.dev/cleanup"
SKIP_CLEANUP = "s3access.dev/skip-cleanup"
log = logging.getLogger(__name__)


def kube_api() -> client.ApiClient:
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.ApiClient()


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    cfg: OperatorConfig = memo.get("config") or OperatorConfig()
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=ANNOTATION_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    # Kopf would post every handler log line as an Event; we post our own, on transitions only.
    settings.posting.level = logging.WARNING
    settings.persistence.finalizer = FINALIZER
    settings.execution.max_workers = cfg.workers
    memo.config = cfg
    memo.cache = TTLCache(cfg.cache_ttl_s)
    memo.metrics = Metrics()
    memo.metrics.state.cache = memo.cache.stats
    if cfg.metrics_port:
        memo.metrics.serve(cfg.metrics_port)
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
    memo.api = kube_api()
    memo.locks = {}
    memo.locks_guard = threading.Lock()


def _lock_table() -> Any:
    locks: dict[str, threading.Lock] = {}
    guard = threading.Lock()

    def lock(name: str) -> threading.Lock:
        with guard:
            return locks.setdefault(name, threading.Lock())

    return lock


@kopf.index(GROUP, VERSION, "bucketaccessclasses")
def class_index(name: str, spec: kopf.Spec, **_: Any) -> dict[str, dict[str, Any]]:
    return {name: dict(spec)}


@kopf.index("", "v1", "namespaces")
def namespace_index(name: str, labels: kopf.Labels, **_: Any) -> dict[str, dict[str, str]]:
    return {name: dict(labels)}


def _record(
    namespace: str | None,
    name: str | None,
    spec: Mapping[str, Any],
    status: Mapping[str, Any],
    meta: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "name": name,
        "uid": meta.get("uid", ""),
        "spec": dict(spec),
        "role": (spec.get("role") or {}).get("arn") or status.get("roleArn"),
        "managed_key": (status.get("managed") or {}).get("kmsKeyArn"),
        "role_missing": any(
            c.get("type") == "IdentityPolicyAllows" and c.get("reason") == "RoleNotFound"
            for c in status.get("conditions") or ()
        ),
        "deleting": bool(meta.get("deletionTimestamp")),
    }


@kopf.index(GROUP, VERSION, "bucketaccesses")
def by_bucket(
    namespace: str, name: str, spec: kopf.Spec, status: kopf.Status, meta: kopf.Meta, **_: Any
) -> dict[str, Any]:
    return {str(spec.get("bucket")): _record(namespace, name, spec, status, meta)}


@kopf.index(GROUP, VERSION, "bucketaccesses")
def by_key(
    namespace: str, name: str, spec: kopf.Spec, status: kopf.Status, meta: kopf.Meta, **_: Any
) -> dict[str, Any]:
    key = (status.get("managed") or {}).get("kmsKeyArn")
    return {str(key): _record(namespace, name, spec, status, meta)} if key else {}


def _peers(
    bucket: str, key: str | None, indexes: Mapping[str, kopf.Index[str, Any]]
) -> list[reconciler.Peer]:
    records = list(indexes["by_bucket"].get(bucket, ()))
    if key:
        records += list(indexes["by_key"].get(key, ()))
    seen, out = set(), []
    for r in records:
        who = (r["namespace"], r["name"])
        if r["deleting"] or who in seen:
            continue
        seen.add(who)
        out.append(
            reconciler.Peer(
                r["namespace"],
                r["name"],
                r["spec"],
                r["role"],
                _first(indexes["class_index"], str(r["spec"].get("className", ""))),
                _first(indexes["namespace_index"], r["namespace"]),
                r["managed_key"],
                r["role_missing"],
                r["uid"],
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


def _object_lock(memo: kopf.Memo, uid: str) -> threading.Lock:
    """One pass (or cleanup) at a time per object: a cleanup never races a pass in flight."""
    with memo.locks_guard:
        return memo.locks.setdefault(uid, threading.Lock())  # type: ignore[no-any-return]


def run_pass(body: Mapping[str, Any], memo: kopf.Memo, indexes: Mapping[str, kopf.Index[str, Any]]) -> None:
    """Verify one BucketAccess, reconcile its grants, write its status; one pass at a time per object."""
    meta = body["metadata"]
    with _object_lock(memo, meta.get("uid", "")):
        if meta.get("deletionTimestamp"):
            return  # going away: the cleanup handler takes its grants, a pass must not put them back
        spec = body.get("spec") or {}
        subject = reconciler.Subject(
            namespace=meta["namespace"],
            name=meta["name"],
            spec=spec,
            class_spec=_first(indexes["class_index"], str(spec.get("className", ""))),
            namespace_labels=_first(indexes["namespace_index"], meta["namespace"]),
        )
        deps = reconciler.Deps(memo.reader, service_account_resolver(memo.api))
        managed = (body.get("status") or {}).get("managed") or {}
        peers = _peers(str(spec.get("bucket")), managed.get("kmsKeyArn"), indexes)
        with memo.metrics.verify_seconds.time():
            outcome = reconciler.run(subject, peers, deps, memo.writes)
            status.write(memo.api, body, outcome, dt.datetime.now(dt.UTC))
        memo.metrics.set_ready(meta.get("uid", ""), outcome.ready.status)
        log.info(
            "verified %s/%s: Ready=%s %s",
            meta["namespace"],
            meta["name"],
            outcome.ready.status,
            outcome.ready.reason,
        )


@kopf.on.resume(GROUP, VERSION, "bucketaccesses")
@kopf.on.create(GROUP, VERSION, "bucketaccesses")
@kopf.on.update(GROUP, VERSION, "bucketaccesses", field="spec")
def verify(body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    run_pass(body, memo, kwargs)


@kopf.on.delete(GROUP, VERSION, "bucketaccesses")
def cleanup(body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    """Remove this object's share of the managed statements and grants before it goes."""
    if (body.metadata.annotations or {}).get(SKIP_CLEANUP) == "true":
        log.warning(
            "%s/%s: %s=true, leaving its AWS grants in place",
            body.metadata.namespace,
            body.metadata.name,
            SKIP_CLEANUP,
        )
        return
    managed = (body.get("status") or {}).get("managed") or {}
    if not managed:
        return
    spec = body.get("spec") or {}
    subject = reconciler.Subject(body.metadata.namespace or "", body.metadata.name or "", spec, None, None)
    deps = reconciler.Deps(memo.reader, service_account_resolver(memo.api))
    peers = _peers(str(managed.get("bucket") or spec.get("bucket")), managed.get("kmsKeyArn"), kwargs)
    try:
        with _object_lock(memo, body.metadata.uid or ""):
            applied = reconciler.release(subject, managed, peers, deps, memo.writes, body.metadata.uid or "")
    except AwsUnavailable as exc:
        raise kopf.TemporaryError(
            f"AWS is unavailable, cleanup will be retried: {exc.message}", delay=15
        ) from None
    memo.metrics.set_ready(body.metadata.uid or "", None)
    for a in applied:
        if a.refusal:
            raise kopf.TemporaryError(f"{a.target}: {a.detail}", delay=60)
        for kind, reason, message in a.events:
            kopf.event(body, type=kind, reason=reason, message=message)


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


@kopf.daemon(GROUP, VERSION, "bucketaccesses", cancellation_timeout=10)
async def reverify(stopped: kopf.DaemonStopped, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    cfg: OperatorConfig = memo.config
    first = True
    while not stopped:
        interval = _interval(body.get("spec") or {}, cfg)
        # The create/resume handler has just verified; after that, keep a per-object phase and
        # add a little jitter so that restarts do not re-align the timers.
        delay = (
            (interval + _phase(body.metadata.uid or "", interval))
            if first
            else interval * random.uniform(0.95, 1.05)
        )
        first = False
        await stopped.wait(delay)
        if stopped:
            break
        try:
            await asyncio.to_thread(run_pass, dict(body), memo, kwargs)
        except Exception:  # the next interval is the retry; a timer never takes the operator down
            log.exception(
                "periodic verification of %s/%s failed", body.metadata.namespace, body.metadata.name
            )
