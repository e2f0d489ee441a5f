"""The composition root: everything one operator process shares, built once at start-up and
kept in Kopf's ``memo`` as one typed object (``memo.runtime``).

Written from the event loop (watch events) and read from the scheduler's worker threads; each
field is either set once here, or an object that takes its own lock (tracking, the "verify now"
gate, the store's writers), or a container whose single operations are atomic under the GIL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubernetes import client

from ..aws.boto import BotoReader
from ..aws.cache import CachedReader, TTLCache
from ..aws.ports import AwsReader
from ..aws.writer import BotoWriter
from ..grants.shard import Shard
from ..reconcile import WriteDeps
from .config import OperatorConfig
from .kube import kube_config, list_objects
from .leader import ALWAYS, Fence, FencedApiClient, LeaderElector
from .metrics import Metrics
from .record import ManagedRecord
from .scheduler import Scheduler
from .store import ObjectStore
from .tracking import Tracking
from .verify_now import VerifyNowGate

log = logging.getLogger(__name__)


class Index(Protocol):
    """What the driver needs of a Kopf index (name -> the values indexed under it)."""

    def get(self, key: str, /) -> Any: ...


@dataclass(kw_only=True)
class Runtime:
    config: OperatorConfig
    cache: TTLCache
    metrics: Metrics
    reader: AwsReader  # the shared cache in front of boto3, or boto3 itself with --cache-ttl 0
    writes: WriteDeps
    api: client.ApiClient
    record: ManagedRecord
    # when a "verify now" pass may run (the limits of config.verify_now); it takes only reads made after it
    verify_now: VerifyNowGate = field(init=False)
    store: ObjectStore = field(default_factory=ObjectStore)
    scheduler: Scheduler | None = None
    scheduler_task: asyncio.Task[None] | None = None
    classes: Index | None = None  # Kopf's index of BucketAccessClass specs, once it is filled
    namespaces: Index | None = None  # Kopf's index of namespace labels
    tracking: Tracking = field(default_factory=Tracking)  # what this process remembers per uid
    elector: LeaderElector | None = None  # None: leader election off, this replica always leads
    elector_task: asyncio.Task[None] | None = None
    events_task: asyncio.Task[None] | None = None  # the change-event consumer (--event-queue-url)

    def __post_init__(self) -> None:
        self.verify_now = VerifyNowGate(self.config.verify_now)
        self.metrics.state.verify_now = self.verify_now.stats

    def leading(self) -> bool:
        return self.elector is None or self.elector.holds()

    @property
    def cached_reader(self) -> CachedReader | None:
        return self.reader if isinstance(self.reader, CachedReader) else None

    def forget(self, uid: str, scheduler: bool = True) -> None:
        """The object is gone: drop everything this process kept about it (``scheduler``: its
        schedule too, which only the event loop's thread may touch)."""
        self.store.pop(uid)
        self.writes.forget(uid)  # and no pass or sweep plans it from its last claim
        self.tracking.forget(uid)
        self.verify_now.forget(uid)
        if scheduler and self.scheduler is not None:
            self.scheduler.forget(uid)
        self.metrics.set_ready(uid, None)

    def indexes_ready(self) -> bool:
        return self.classes is not None and self.namespaces is not None

    def first(self, index: Index | None, key: str) -> Any:
        found = index.get(key) if index is not None else None
        return next(iter(found), None) if found is not None else None

    def class_spec_raw(self, name: str) -> Mapping[str, Any] | None:
        found = self.first(self.classes, name)
        return found if isinstance(found, Mapping) else None

    def namespace_labels(self, name: str) -> Mapping[str, str] | None:
        found = self.first(self.namespaces, name)
        return found if isinstance(found, Mapping) else None


def build(cfg: OperatorConfig) -> Runtime:
    """Clients, cache, metrics and the write path, wired together; no watch started yet."""
    cache = TTLCache(cfg.cache_ttl_s)
    shard = _shard(cfg.record_name)
    metrics = Metrics()
    metrics.state.cache = cache.stats
    configuration = kube_config(pool=cfg.workers + 4)
    elector = None
    fence = ALWAYS
    if cfg.leader_election:
        # the elector's Lease requests on a client of their own: they are the one write not fenced
        elector = LeaderElector(
            client.ApiClient(configuration), cfg.state_namespace, cfg.lease_object, cfg.lease
        )
        fence = Fence(elector.holds, on_refused=lambda target: metrics.fenced.labels(target).inc())
        metrics.state.leading = elector.holds
    boto = BotoReader(
        region=cfg.region,
        org_reader_role_arn=cfg.org_reader_role_arn,
        account_reader_role_name=cfg.account_reader_role_name,
        max_pool=cfg.workers * 2,
        on_client=metrics.hook,
        # on the clients themselves, not around the writer: botocore's retries are fenced too
        check_write=fence.check_aws,
    )
    # --cache-ttl 0 turns the shared cache off (every object reads for itself): the scale
    # benchmark's baseline, never a production setting
    reader: AwsReader = CachedReader(boto, cache) if cfg.cache_ttl_s > 0 else boto
    api = FencedApiClient(configuration, fence, on_write=lambda verb: metrics.kube_writes.labels(verb).inc())
    return Runtime(
        config=cfg,
        cache=cache,
        metrics=metrics,
        reader=reader,
        writes=WriteDeps(writer=BotoWriter(boto), cache=cache, shard=shard),
        api=api,
        record=ManagedRecord(api, cfg.state_namespace, cfg.record_name, shard.tag),
        elector=elector,
    )


def _shard(record_name: str) -> Shard:
    """The names this process writes under: its own, whichever other shards share a bucket or key."""
    shard = Shard.of(record_name)
    log.info(
        "record %s: the shard tag of its managed Sids and grant names is %s",
        record_name,
        shard.tag or "none (the default record)",
    )
    return shard


def preload(rt: Runtime) -> None:
    """Fill the store from a full listing: a pass plans a bucket from all its objects, so the
    store must hold every object before the first pass (Kopf starts watching after start-up)."""
    rt.store.preload(list_objects(rt.api, rt.config.namespaces))
    rt.record.load()
