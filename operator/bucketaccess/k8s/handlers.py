"""Kopf registrations, and nothing else: they watch and schedule; the work runs in
:mod:`.driver` on the scheduler's threads, with the process's state in :mod:`.runtime`.

Kopf does what it is good at here (watch streams with reconnects, small indexes of classes and
namespace labels), through event handlers and indexes only: no change handlers, so Kopf writes
nothing on the objects (no progress annotations, no finalizer of its own). The operator keeps the
newest body of every BucketAccess (:mod:`.store`, filled by a full listing before the first
pass), schedules a verification pass on first sight, on a spec change, on a change of its class
or namespace labels and every verifyInterval, and owns the cleanup finalizer (:mod:`.finalizers`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, cast

import kopf

from ..resources import CLASS_PLURAL, GROUP, PLURAL, VERSION, RawBody
from . import change_events, driver, runtime
from .config import OperatorConfig
from .finalizers import FINALIZER
from .scheduler import Scheduler
from .subjects import observed_status

VERIFY_NOW = "s3access.dev/verify"  # set to a new value (e.g. the time) to verify with fresh reads
log = logging.getLogger(__name__)


class NoDiffBase(kopf.AnnotationsDiffBaseStorage):
    """Kopf builds a deep copy of every body on every event for the diffs of change handlers;
    there are none here, so the essence is empty and costs nothing (a quarter of Kopf's CPU per
    event at thousands of objects)."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> Any:
        return {}


def _rt(memo: kopf.Memo) -> runtime.Runtime:
    rt: runtime.Runtime = memo.runtime
    return rt


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
    rt = runtime.build(cfg)
    await asyncio.to_thread(runtime.preload, rt)
    rt.scheduler = Scheduler(lambda uid: driver.work(uid, rt), cfg.workers)
    rt.metrics.state.scheduler = rt.scheduler.stats
    if cfg.metrics_port:
        rt.metrics.serve(cfg.metrics_port)
    rt.scheduler_task = asyncio.create_task(rt.scheduler.run())
    rt.scheduler.soon(driver.SWEEP)
    if cfg.event_queue_url:
        rt.events_task = asyncio.create_task(change_events.start(rt, cfg.event_queue_url))
    if rt.elector is not None:
        rt.elector_task = asyncio.create_task(
            rt.elector.run(lambda leading: driver.on_leadership(rt, leading))
        )
    # Kopf hands each handler a shallow copy of this memo: the runtime is one shared object,
    # mutated in place and never re-assigned from a handler.
    memo.runtime = rt


@kopf.on.cleanup()
async def shutdown(memo: kopf.Memo, **_: Any) -> None:
    rt: runtime.Runtime | None = memo.get("runtime")
    if rt is None or rt.scheduler is None:
        return
    if rt.scheduler_task is not None:
        rt.scheduler_task.cancel()
    if rt.elector_task is not None:
        rt.elector_task.cancel()
    if rt.events_task is not None:
        rt.events_task.cancel()
    try:
        await asyncio.wait_for(rt.scheduler.drain(), timeout=10)
    except TimeoutError:
        log.warning("shutting down with verification passes still in flight")
    rt.scheduler.close()
    if rt.elector is not None:
        # after the passes in flight: the next holder starts at once, not a lease duration later
        await asyncio.to_thread(rt.elector.release)


# Index handlers are async: they are pure and cheap, and a sync one would cost a thread hop on
# every watch event.
@kopf.index(GROUP, VERSION, CLASS_PLURAL)
async def class_index(name: str, spec: kopf.Spec, **_: Any) -> dict[str, dict[str, Any]]:
    return {name: dict(spec)}


@kopf.index("", "v1", "namespaces")
async def namespace_index(name: str, labels: kopf.Labels, **_: Any) -> dict[str, dict[str, str]]:
    return {name: dict(labels)}


@kopf.on.event(GROUP, VERSION, PLURAL)
async def observed(event: kopf.RawEvent, memo: kopf.Memo, **kwargs: Any) -> None:
    rt = _rt(memo)
    _take_indexes(rt, kwargs)
    raw = cast(RawBody, event["object"])  # a BucketAccess: the CRD's schema holds
    uid = raw["metadata"]["uid"]
    if event["type"] == "DELETED":
        rt.forget(uid)
        return
    assert rt.scheduler is not None
    before = rt.store.get(uid)
    rt.store.put(raw)
    meta = raw["metadata"]
    if meta.get("deletionTimestamp"):
        if FINALIZER in (meta.get("finalizers") or ()):
            rt.scheduler.soon(uid)
        return
    # "Verify now": a new value of the annotation asks for a pass with reads made after it, as soon
    # as the object's window and its namespace's budget allow (anyone who may update the object
    # may ask, and each such pass spends AWS quotas shared by the whole account).
    asked = (meta.get("annotations") or {}).get(VERIFY_NOW)
    if (
        before is not None
        and asked
        and asked != (before["metadata"].get("annotations") or {}).get(VERIFY_NOW)
    ):
        rt.scheduler.at(uid, rt.verify_now.ask(uid, meta["namespace"]))
        return
    # First sight (a new object, or every object after a restart) or a new generation (a spec
    # change): verify now. Our own status patches change neither, so they schedule nothing.
    first = rt.tracking.watch(uid)
    changed = before is not None and before["metadata"].get("generation") != meta.get("generation")
    if first or changed:
        if changed or not observed_status(raw).resumed:
            rt.tracking.changed(uid, time.monotonic())
        rt.scheduler.soon(uid)


def _take_indexes(rt: runtime.Runtime, kwargs: Mapping[str, Any]) -> None:
    """Kopf hands every handler its indexes once they are filled: keep them for the workers."""
    if not rt.indexes_ready() and "class_index" in kwargs and "namespace_index" in kwargs:
        rt.classes, rt.namespaces = kwargs["class_index"], kwargs["namespace_index"]


def _verify_affected(
    rt: runtime.Runtime, event: kopf.RawEvent, affected: Callable[[Mapping[str, Any]], bool]
) -> None:
    if event["type"] is None or rt.scheduler is None:
        return  # the initial listing: every BucketAccess is verified on first sight anyway
    for uid in rt.store.uids():
        body = rt.store.get(uid)
        if rt.tracking.watched(uid) and body is not None and affected(body):
            rt.tracking.changed(uid, time.monotonic())
            rt.scheduler.soon(uid)


@kopf.on.event(GROUP, VERSION, CLASS_PLURAL)
async def class_changed(event: kopf.RawEvent, name: str, memo: kopf.Memo, **kwargs: Any) -> None:
    """A class decides admission and modes: its objects are verified again at once."""
    _take_indexes(_rt(memo), kwargs)
    _verify_affected(_rt(memo), event, lambda b: (b.get("spec") or {}).get("className") == name)


@kopf.on.event("", "v1", "namespaces")
async def namespace_changed(event: kopf.RawEvent, name: str, memo: kopf.Memo, **kwargs: Any) -> None:
    """Namespace labels take part in admission (a class's namespaceSelector)."""
    _take_indexes(_rt(memo), kwargs)
    if event["type"] == "DELETED":
        _rt(memo).verify_now.forget_namespace(name)  # its budget and metric labels
    _verify_affected(_rt(memo), event, lambda b: b["metadata"].get("namespace") == name)
