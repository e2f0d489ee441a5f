"""AWS change events -> the affected objects -> their cached reads dropped -> a pass each, now.

The consumer (:class:`Consumer`) runs on the event loop of the Lease holder only: it long-polls
the queue of ``--event-queue-url`` on a thread, parses each message (:mod:`bucketaccess.trail`),
finds the objects whose verdict the change could flip (:func:`affected`: from the object store
and what the shared cache last read; for an SCP or RCP, the accounts it binds, read through the
operator's reader, :mod:`.org_scope`), drops the cached reads of the changed resource,
schedules a pass for each object and only then deletes the message. The pass reads the changed
resource again (its cached reads were dropped) and takes every other read from the cache as a
periodic pass does: one event costs reads of the changed resource, not a cycle.

- Nothing is lost: a message is deleted after its objects were scheduled; one received by a
  replica that lost the Lease meanwhile is left to come back after the queue's visibility
  timeout, and a new holder verifies every object on taking the Lease anyway.
- Duplicates and bursts: a CloudTrail record seen again (its eventID) is ignored, and so is an
  object whose verdict comes from reads made after the call (a message that comes back after its
  visibility timeout to a new holder, which verified every object on taking the Lease); events
  for an object whose pass has not started yet fold into that one pass (the scheduler keeps one due
  time per object); a pass already running runs once more after it ends, with fresh reads.
- Malformed and unknown events are counted, logged once per kind, and deleted: they would be
  the same on every receive, so the queue's redrive policy (deploy/aws) only catches messages
  this operator never managed to delete (a crash, a queue that refused the delete).
- The operator's own writes (its principal in ``userIdentity``) start no second pass.
- The queue unreachable or refusing: counted by error code, logged once per code, retried with
  a backoff of up to a minute; the verify interval goes on as without events.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..aws.cache import TTLCache
from ..aws.ports import AwsReader, BucketInfo, KeyInfo, RoleInfo
from ..aws.queue import EventQueue, Message, QueueUnavailable
from ..resources import BucketAccessSpec, RawBody
from ..trail import Event, Ignored, Kind, Malformed, Ref, parse
from ..trail.parse import Why, same_principal
from .event_metrics import EventMetrics
from .org_scope import Accounts, in_account, under_policy
from .runtime import Runtime
from .store import ObjectStore
from .subjects import observed_status

log = logging.getLogger(__name__)
SEEN_EVENTS = 10_000  # CloudTrail eventIDs remembered for duplicates
BACKOFF_S = (1.0, 60.0)  # after a failed receive: first and longest wait
# CloudTrail's eventTime is to the second, and AWS's clock is not ours: a verdict counts as newer
# than a call only when its reads began this much after the call's eventTime
EVENT_TIME_SLACK_S = 2.0


@dataclass
class Affected:
    uids: set[str] = field(default_factory=set)
    drop: set[tuple[str, ...]] = field(default_factory=set)  # cache keys or prefixes to invalidate
    # the change may be under cache keys not dropped here: these objects' passes read everything
    # again (within --cache-ttl), as after a change of the object itself
    fresh: bool = False
    unscoped: str | None = None  # an SCP or RCP mapped to every object: why its reach was not read


def key_id(ref: str) -> str:
    """A KMS key's id from its ARN (``arn:aws:kms:r:a:key/ID``) or its id."""
    return ref.rsplit("key/", 1)[-1] if ref.startswith("arn:") and ":key/" in ref else ref


def _name_of(role_arn: str) -> tuple[str, str]:
    """(account, role name) of a role ARN (its path dropped)."""
    parts = role_arn.split(":", 5)
    if len(parts) != 6:
        return "", role_arn
    return parts[4], parts[5].rsplit("/", 1)[-1]


@dataclass(frozen=True)
class _Object:
    uid: str
    namespace: str
    spec: BucketAccessSpec
    role_arn: str | None
    keys: frozenset[str]  # every KMS key reference the object's verdict reads
    accounts: Accounts  # whose Organizations policies decide its upload


def _objects(store: ObjectStore, cache: TTLCache | None) -> list[_Object]:
    buckets: dict[str, BucketInfo] = {}
    own: str | None = None  # the operator's account: its buckets', and keys named without an ARN
    if cache is not None:
        buckets = {k[1]: v for k, v in cache.answers("bucket") if isinstance(v, BucketInfo)}
        own = next((str(v) for _, v in cache.answers("caller")), None)
    out = []
    for uid in store.uids():
        body = store.get(uid)
        if body is None:
            continue
        spec = BucketAccessSpec.parse(body.get("spec") or {})
        status = observed_status(body)
        keys = {status.managed.kms_key_arn or ""}
        if spec.upload.encryption is not None:
            keys.add(spec.upload.encryption.kms_key_arn or "")
        bucket = buckets.get(spec.bucket)
        if bucket is not None and bucket.encryption:
            keys.add(str(bucket.encryption.get("kmsKeyArn") or ""))
        keys.discard("")
        role_arn = spec.role_arn or status.role_arn
        resources = {bucket.account if bucket is not None else own, *(_account_of(k, own) for k in keys)}
        accounts = Accounts(
            caller=(_name_of(role_arn)[0] or None) if role_arn else None,
            resources=None if None in resources else frozenset(str(a) for a in resources),
        )
        out.append(_Object(uid, body["metadata"]["namespace"], spec, role_arn, frozenset(keys), accounts))
    return out


def _account_of(key_ref: str, own: str | None) -> str | None:
    """The account of a key ARN or alias ARN; a key id or alias name is the operator's account's."""
    parts = key_ref.split(":", 5)
    return parts[4] if key_ref.startswith("arn:") and len(parts) == 6 else own


def affected(
    event: Event, store: ObjectStore, cache: TTLCache | None, reader: AwsReader | None = None
) -> Affected:
    """The objects whose verdict ``event`` could change, and the cached reads it makes stale.
    ``reader``: for an SCP or RCP, which accounts it binds (:mod:`.org_scope`); everything else is
    found from the store and what the cache last read."""
    out = Affected()
    objects: list[_Object] | None = None  # every object, parsed: only for what the store has no index of
    for ref in event.refs:
        if ref.kind is Kind.Bucket:
            out.drop.add(("bucket", ref.id))
            out.uids |= {b["metadata"]["uid"] for b in store.on_bucket_or_key(ref.id, None)}
            continue
        if ref.kind is Kind.OrgTarget:
            if any(r.kind is Kind.OrgPolicy for r in event.refs):
                continue  # read with the policy of the same call
            # a target without its policy: which accounts it binds cannot be told, so all
            out.drop.add(("org",))
            objects = objects if objects is not None else _objects(store, cache)
            out.uids |= {o.uid for o in objects}
            continue
        if objects is None:
            objects = _objects(store, cache)
        if ref.kind is Kind.OrgPolicy:
            target = next((r.id for r in event.refs if r.kind is Kind.OrgTarget), None)
            scope = under_policy(reader, ref.id, target, [(o.uid, o.accounts) for o in objects])
            out.drop.add(("org",))
            out.uids |= scope.uids
            out.unscoped = scope.unscoped
            continue
        _one(ref, event, objects, cache, out)
    return out


def _one(ref: Ref, event: Event, objects: list[_Object], cache: TTLCache | None, out: Affected) -> None:
    kind, rid = ref.kind, ref.id
    if kind is Kind.AccountPublicAccessBlock:
        out.drop.add(("account-pab", rid))
        out.uids |= {o.uid for o in objects}
    elif kind is Kind.Account:  # moved between OUs: other SCPs and RCPs above it
        out.drop.add(("org",))
        out.uids |= in_account(rid, [(o.uid, o.accounts) for o in objects])
    elif kind is Kind.VpcEndpoint:
        out.drop.add(("vpce", rid))
        out.uids |= {o.uid for o in objects if o.spec.vpc_endpoint_id == rid}
    elif kind in (Kind.Key, Kind.Alias):
        _keys(ref, objects, cache, out)
    elif kind is Kind.Role:
        for o in objects:
            if (
                o.role_arn
                and _name_of(o.role_arn)[1] == rid
                and _name_of(o.role_arn)[0] in ("", event.account)
            ):
                out.uids.add(o.uid)
                out.drop.add(("role", o.role_arn))
    elif kind is Kind.ManagedPolicy:
        name = rid.rsplit("/", 1)[-1]
        holders = {
            k[1]
            for k, info in (cache.answers("role") if cache is not None else ())
            if isinstance(info, RoleInfo)
            and (
                name in (n for n, _ in info.managed)
                or (info.boundary is not None and info.boundary[0] == name)
            )
        }
        for arn in holders:
            out.drop.add(("role", arn))
        out.uids |= {o.uid for o in objects if o.role_arn in holders}
    elif kind is Kind.OidcProvider:
        out.drop.add(("eks-cluster",))
        out.fresh = True
        out.uids |= {o.uid for o in objects if o.spec.service_account}
    elif kind is Kind.ServiceAccount:
        namespace, _, account = rid.partition("/")
        for k, _info in cache.answers("pod-identity") if cache is not None else ():
            if k[2:4] == (namespace, account):
                out.drop.add(k)
        out.uids |= {o.uid for o in objects if o.namespace == namespace and o.spec.service_account == account}


def _keys(ref: Ref, objects: list[_Object], cache: TTLCache | None, out: Affected) -> None:
    cached = [(k, v) for k, v in cache.answers("key")] if cache is not None else []
    if ref.kind is Kind.Alias:
        # an alias names a key as last read (KeyInfo.aliases), or an object names the alias itself
        alias = ref.id
        ids = {key_id(v.arn) for _, v in cached if isinstance(v, KeyInfo) and alias in v.aliases}
        spelled = {alias}
    else:
        ids = {key_id(ref.id)}
        spelled = set()
    ids |= {key_id(v.arn) for k, v in cached if isinstance(v, KeyInfo) and k[1] in spelled}
    for k, v in cached:
        if key_id(k[1]) in ids or k[1] in spelled or (isinstance(v, KeyInfo) and key_id(v.arn) in ids):
            out.drop.add(k)
    for o in objects:
        if any(key_id(k) in ids or k in spelled or k.endswith(":" + ref.id) for k in o.keys):
            out.uids.add(o.uid)


class Consumer:
    """The queue loop of one operator process (it idles while another replica leads)."""

    def __init__(self, rt: Runtime, queue: EventQueue, metrics: EventMetrics) -> None:
        self.rt = rt
        self.queue = queue
        self.metrics = metrics
        self.own_arn: str | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._logged: set[str] = set()

    def own(self, arn: str) -> bool:
        return self.own_arn is not None and same_principal(arn, self.own_arn)

    def _once(self, key: str, message: str, *args: object) -> None:
        if key not in self._logged and len(self._logged) < 1000:
            self._logged.add(key)
            log.warning(message, *args)

    async def handle(self, messages: Iterable[Message]) -> list[Message]:
        """Parse, map and schedule; returns the messages to delete. Finding the objects scans the
        store (milliseconds per thousand objects): on a thread, so the watch handlers keep going;
        dropping reads and scheduling on the event loop, where the scheduler lives."""
        done = []
        for message in messages:
            self.metrics.received.inc()
            found = self.classify(message.body)
            if isinstance(found, Event):
                hit = await asyncio.to_thread(affected, found, self.rt.store, self.rt.cache, self.rt.reader)
                self.apply(found, hit)
            done.append(message)
        return done

    def take(self, body: str) -> Event | Ignored | Malformed:
        """One message, all on the calling thread (the event loop's)."""
        found = self.classify(body)
        if isinstance(found, Event):
            return self.apply(found, affected(found, self.rt.store, self.rt.cache, self.rt.reader))
        return found

    def classify(self, body: str) -> Event | Ignored | Malformed:
        """Parsed, and counted when it starts nothing (a duplicate: an event already applied)."""
        found = parse(body, self.own)
        if isinstance(found, Malformed):
            self.metrics.malformed.inc()
            self._once("malformed:" + found.problem[:80], "change event dropped: %s", found.problem)
            return found
        if isinstance(found, Ignored):
            self.metrics.ignored.labels(found.why.value).inc()
            if found.why in (Why.UnknownCall, Why.DetailType):
                self._once(
                    f"{found.why}:{found.call}", "change event ignored (%s): %s", found.why.value, found.call
                )
            return found
        if found.event_id and found.event_id in self._seen:
            self.metrics.ignored.labels(Why.Duplicate.value).inc()
            return Ignored(Why.Duplicate, found.call.name)
        return found

    def apply(self, found: Event, hit: Affected) -> Event | Ignored:
        """Drop the changed resource's reads, schedule the objects, count; only then is the event
        seen (a batch that failed before comes back, and is not taken for a duplicate)."""
        for key in sorted(hit.drop):
            self.rt.cache.invalidate(*key)
        scheduled, newer = schedule(self.rt, hit.uids, fresh=hit.fresh, made=found.when)
        if hit.unscoped is not None:
            self.metrics.unscoped.labels(hit.unscoped).inc()
            self._once(
                "unscoped:" + hit.unscoped,
                "%s: which accounts the policy binds could not be read (%s); verifying every object",
                found.call.name,
                hit.unscoped,
            )
        if found.event_id:
            self._seen[found.event_id] = None
            while len(self._seen) > SEEN_EVENTS:
                self._seen.popitem(last=False)
        if not scheduled:
            why = Why.VerifiedSince if newer else Why.NoObjects
            self.metrics.ignored.labels(why.value).inc()
            return Ignored(why, found.call.name)
        self.metrics.mapped.inc()
        self.metrics.objects.inc(scheduled)
        if found.when is not None:
            self.metrics.lag.observe(max(0.0, time.time() - found.when))
        log.info(
            "%s on %s: %d object(s) to verify now",
            found.call.name,
            ", ".join(f"{r.kind.value} {r.id}" for r in found.refs),
            scheduled,
        )
        return found

    async def run(self) -> None:
        wait = BACKOFF_S[0]
        while True:
            if not self.rt.leading():
                await asyncio.sleep(1.0)
                continue
            try:
                if self.own_arn is None:
                    self.own_arn = await asyncio.to_thread(self.queue.caller_arn)
                messages = await asyncio.to_thread(self.queue.receive)
                self.metrics.last_receive.set_to_current_time()
                if not self.rt.leading():
                    continue  # received while losing the Lease: they come back to the next holder
                done = await self.handle(messages)
                if done:
                    failed = await asyncio.to_thread(self.queue.delete, done)
                    if failed:
                        self.metrics.queue_errors.labels("DeleteFailed").inc(len(failed))
                wait = BACKOFF_S[0]
                self._logged.discard("queue")
            except QueueUnavailable as exc:
                self.metrics.queue_errors.labels(exc.code).inc()
                self._once(
                    "queue",
                    "event queue %s: %s; verifying on the interval only until it answers",
                    self.queue.url,
                    exc,
                )
                await asyncio.sleep(wait)
                wait = min(wait * 2, BACKOFF_S[1])
            except Exception:  # a bug on one batch: its messages come back (and go to the DLQ after 5)
                log.exception("change events: a batch failed; its messages will be received again")
                self.metrics.queue_errors.labels("HandlerFailed").inc()
                await asyncio.sleep(wait)
                wait = min(wait * 2, BACKOFF_S[1])


def schedule(
    rt: Runtime, uids: Iterable[str], fresh: bool = False, made: float | None = None
) -> tuple[int, int]:
    """A pass for each live object, now (its reads of the changed resource are gone from the cache,
    the others may be up to its interval old, as in a periodic pass; ``fresh``: every read within
    --cache-ttl); returns how many, and how many were left out as already newer than the call.

    ``made``: when the call was made (epoch seconds). An object whose verdict comes from reads all
    made after it already shows the change, and gets no pass: an event received again after the
    queue's visibility timeout (a holder died before deleting it), or that CloudTrail delivered
    after the next periodic pass."""
    if rt.scheduler is None:
        return 0, 0
    now = time.monotonic()
    count = newer = 0
    for uid in sorted(uids):
        body: RawBody | None = rt.store.get(uid)
        if body is None or body["metadata"].get("deletionTimestamp"):
            continue
        since = rt.tracking.reads_since(uid)
        if made is not None and since is not None and since > made + EVENT_TIME_SLACK_S:
            newer += 1
            continue
        if fresh:
            rt.tracking.changed(uid, now)
        rt.scheduler.soon(uid)
        count += 1
    return count, newer


async def start(rt: Runtime, url: str) -> None:
    """The consumer of ``url`` with the operator's clients and metrics, until cancelled."""
    queue = await asyncio.to_thread(EventQueue, url, rt.config.region, None, rt.metrics.hook)
    await Consumer(rt, queue, rt.metrics.events).run()
