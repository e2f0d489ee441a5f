"""One pass over one BucketAccess: verify, bring the managed grants of its bucket and key to what
every admitted object wants (level-triggered), verify again after a write; and, on deletion,
release its share. No kopf, no kubernetes: the edge hands in a Subject and its peers and writes
the returned Outcome."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..aws.errors import AwsError, NotFound
from ..aws.ports import AwsReader
from ..aws.snapshot import Snapshot
from ..grants.admission import Admission, admit
from ..grants.plan import Claim, bucket_statements, covers, key_grants, key_statements, upload_actions
from ..grants.shard import DEFAULT_SHARD, Shard
from ..grants.shares import Contender, Refused, allot, available_bytes
from ..policy import Arn
from ..resources import BucketPolicyMode, KMSKeyUsersMode, Managed
from ..vocabulary import ConditionStatus, ConditionType, Reason
from .conditions import Condition, derive_ready
from .types import Deps, Outcome, Peer, Subject, WriteDeps
from .verify import request_of, verify
from .write import UNREAD, Applied, Unread, apply_bucket_policy, apply_grants, apply_key_policy

log = logging.getLogger(__name__)


def _over_share(outcome: Outcome, refused: Refused) -> Outcome:
    """Admitted=False: the namespace already holds its share of this bucket (objects or bytes)."""
    admitted = Condition(
        type=ConditionType.Admitted,
        status=ConditionStatus.FALSE,
        reason=refused.reason,
        message=refused.message,
    )
    conditions = tuple(admitted if c.type is ConditionType.Admitted else c for c in outcome.conditions)
    not_written = _reconciled(
        ConditionStatus.FALSE,
        Reason.NotAdmitted,
        f"nothing is written for a request over its share ({refused.reason})",
    )
    return replace(outcome, conditions=(*conditions, not_written), ready=derive_ready(conditions))


def _reconciled(status: ConditionStatus, reason: Reason, message: str) -> Condition:
    return Condition(type=ConditionType.Reconciled, status=status, reason=reason, message=message)


def _claim(peer: Peer, key_arn: str | None, *, planned: bool = True) -> Claim | None:
    """The claim of an admitted request whose role exists; None for everything else.

    Each object's own last pass tells whether its role exists (AWS refuses a principal that does
    not), so planning for a bucket costs no AWS call per peer. ``planned=False`` also gives the
    claim of an object whose own pass has not confirmed it yet: such an object keeps its place in
    the shares (first come, first served holds whatever order the passes run in), and nothing is
    written for it until its pass confirms it.
    """
    if (planned and not peer.verified) or not peer.role_arn or peer.role_missing:
        return None
    spec = peer.spec
    # The class is asked again (it may have changed since); whether the key the object names is
    # its bucket's default key was decided by its own pass, which read the bucket.
    named = spec.upload.encryption.kms_key_arn if spec.upload.encryption else None
    admission = admit(
        request_of(spec, peer.namespace, peer.role_arn, named), peer.class_spec, peer.namespace_labels
    )
    if not admission.writes:
        return None
    return Claim(
        owner=peer.owner,
        role_arn=peer.role_arn,
        bucket=spec.bucket,
        prefix=spec.prefix,
        actions=upload_actions(spec),
        bucket_mode=admission.bucket_policy_mode,
        kms_mode=admission.kms_mode,
        kms_key_arn=key_arn,
        acls=(spec.upload.acl,) if spec.upload.acl else peer.class_spec.acls if peer.class_spec else (),
        bucket_key=peer.bucket_key,
    )


def _outcome_of_writes(applied: list[Applied], admission: Admission) -> Condition:
    refused = [(a, a.refusal) for a in applied if a.refusal is not None]
    if refused:
        first, refusal = refused[0]
        return _reconciled(ConditionStatus.FALSE, refusal, first.message)
    if not admission.writes:
        return _reconciled(
            ConditionStatus.TRUE,
            Reason.ObserveOnly,
            "the class observes only: the operator reports and never writes",
        )
    wrote = [a.target for a in applied if a.wrote]
    done = "written to " + ", ".join(wrote) if wrote else "no change needed"
    return _reconciled(ConditionStatus.TRUE, Reason.GrantsInPlace, f"managed grants are in place ({done})")


STALE_RETRIES = 10


def run_pass(
    subject: Subject,
    peers: Callable[[str | None], list[Peer]],
    deps: Deps,
    writes: WriteDeps,
    before_write: Callable[[Claim], None] | None = None,
) -> Outcome:
    """Verify, bring the managed grants of this object's bucket and key to the wanted state,
    and verify again after any write.

    ``peers(key)`` gives the objects on this object's bucket and on ``key`` (the KMS key its upload
    uses, as just read); it is called only when this object's class lets the operator write (an
    object that only observes needs no plan, and at thousands of objects on one bucket the list is
    not free).
    ``before_write`` runs with this object's claim before anything may be written for it (the
    caller puts its cleanup finalizer on there, and records the bucket and key in its durable
    record); if it raises, nothing is written and the error propagates.

    No verdict is published from a read older than this process's last write to the bucket or
    key it is about: when another pass wrote there while this one ran, it runs again (its reads
    are then fresh, since a write invalidates the shared cache).
    """
    outcome = _run_once(subject, peers, deps, writes, before_write)
    for _ in range(STALE_RETRIES):
        if not _stale(outcome, writes):
            break
        outcome = _run_once(subject, peers, deps, writes, before_write)
    return outcome


def _stale(outcome: Outcome, writes: WriteDeps) -> bool:
    snap = outcome.snapshot
    if snap is None:
        return False
    keys = [("bucket", snap.bucket_name)] + ([("key",)] if snap.key_arn else [])
    return writes.cache.invalidated_since(outcome.started, *keys)


def _run_once(
    subject: Subject,
    peers: Callable[[str | None], list[Peer]],
    deps: Deps,
    writes: WriteDeps,
    before_write: Callable[[Claim], None] | None,
) -> Outcome:
    outcome = verify(subject, deps, started=writes.cache.clock())
    admission, snap = outcome.admission, outcome.snapshot
    if admission is None or not admission.admitted:
        why = admission.reason if admission else Reason.NotAdmitted
        not_admitted = _reconciled(
            ConditionStatus.FALSE,
            Reason.NotAdmitted,
            f"nothing is written for a request its class does not admit ({why})",
        )
        return _nothing_written(outcome, subject, writes, not_admitted)
    if snap is None:
        return outcome  # AWS unavailable or unevaluable: no write on partial knowledge
    held_back = _held_back(outcome, admission, snap)
    if held_back is not None:
        return _nothing_written(outcome, subject, writes, held_back)
    me = _peer_of(subject, snap)
    own = _claim(me, snap.key_arn)
    if own is None:
        return _nothing_written(outcome, subject, writes, _outcome_of_writes([], admission))
    done = _write_within_share(own, me, peers(snap.key_arn), deps.reader, writes, before_write)
    if isinstance(done, Refused):
        writes.claims.pop(subject.uid, None)
        return _over_share(outcome, done)
    if any(a.wrote for a in done):
        outcome = verify(subject, deps, started=writes.cache.clock())  # what AWS holds now, read fresh
    return replace(
        outcome,
        conditions=(*outcome.conditions, _outcome_of_writes(done, admission)),
        managed=_managed(own, done),
        events=(*outcome.events, *(e for a in done for e in a.events)),
    )


def _write_within_share(
    own: Claim,
    me: Peer,
    on_bucket: list[Peer],
    reader: AwsReader,
    writes: WriteDeps,
    before_write: Callable[[Claim], None] | None,
) -> list[Applied] | Refused:
    """What was written for this object, or its refusal when it is over its share."""
    # decided before anything is written for it (its finalizer included), and again under the lock
    refused = _share_refusal(own, [me, *_others(me.owner, on_bucket, writes)], reader, writes)
    if refused is not None:
        return refused
    if before_write is not None:
        before_write(own)
    return _apply_all(own, me, on_bucket, reader, writes)


def _nothing_written(outcome: Outcome, subject: Subject, writes: WriteDeps, reconciled: Condition) -> Outcome:
    writes.claims.pop(subject.uid, None)  # it wants nothing written: no pass plans it from here
    return replace(outcome, conditions=(*outcome.conditions, reconciled))


def _held_back(outcome: Outcome, admission: Admission, snap: Snapshot) -> Condition | None:
    """Why nothing may be written for an admitted, verified object, as its Reconciled condition;
    None when something may."""
    if not admission.writes:
        return _outcome_of_writes([], admission)
    if snap.role_missing:
        return _reconciled(
            ConditionStatus.FALSE,
            Reason.RoleNotFound,
            f"role {snap.role_arn} does not exist, so AWS would refuse it as a principal; nothing was written",
        )
    identity = next(c for c in outcome.conditions if c.type is ConditionType.IdentityPolicyAllows)
    if identity.status is ConditionStatus.UNKNOWN:
        return _reconciled(
            ConditionStatus.FALSE,
            identity.reason,
            f"role {snap.role_arn} could not be read, and a role that does not exist is refused as a "
            "principal (for every tenant of the policy); nothing was written",
        )
    return None


def _peer_of(subject: Subject, snap: Snapshot) -> Peer:
    """This object as its peers see it, with what this pass just read (verified)."""
    return Peer(
        namespace=subject.namespace,
        name=subject.name,
        spec=subject.spec,
        role_arn=snap.role_arn,
        class_spec=subject.class_spec,
        namespace_labels=subject.namespace_labels,
        managed_key=snap.key_arn,
        uid=subject.uid,
        created=subject.created,
        bucket_key=snap.bucket_key,
        verified=True,
        holds=subject.holds,
    )


def _managed(own: Claim, applied: list[Applied]) -> Managed:
    """status.managed: the Sid and grants that hold this object's share of its bucket and key."""
    managed = Managed(bucket=own.bucket)
    for a in applied:
        if a.target == own.bucket and a.sid:
            managed = replace(managed, bucket_policy_sid=a.sid)
        elif a.target == own.kms_key_arn:
            managed = replace(managed, kms_key_arn=a.target, key_policy_sid=a.sid, grant_ids=a.grant_ids)
    return managed


def _cached_bucket_policy(reader: AwsReader, bucket: str) -> str | Unread | None:
    try:
        policy = reader.bucket(bucket).policy
    except AwsError:
        return UNREAD
    return json.dumps(policy) if policy is not None else None


def _cached_key(reader: AwsReader, key_arn: str) -> tuple[str | Unread | None, list[dict[str, Any]] | Unread]:
    try:
        key = reader.key(key_arn, Arn.parse(key_arn).region)
    except AwsError:
        return UNREAD, UNREAD
    return (json.dumps(key.policy) if key.policy is not None else UNREAD), [dict(g) for g in key.grants]


def _contenders(everyone: list[Peer], bucket: str) -> list[tuple[Contender, bool]]:
    """Every object asking for a grant on ``bucket``, in rank order, with whether it may be
    planned (its own pass confirmed it)."""
    out = []
    for p in sorted(everyone, key=lambda p: p.rank):
        if p.spec.bucket != bucket or (c := _claim(p, p.managed_key, planned=False)) is None:
            continue
        limits = p.class_spec
        contender = Contender(
            claim=c,
            held=p.holds,
            object_limit=limits.objects_per_namespace_per_bucket if limits else None,
            byte_limit=limits.bucket_policy_bytes_per_namespace if limits else None,
        )
        out.append((contender, p.verified))
    return out


def _allotted(
    bucket: str, everyone: list[Peer], available: int | None = None, shard: Shard = DEFAULT_SHARD
) -> tuple[list[Claim], dict[str, Refused]]:
    """The claims to plan on ``bucket`` (confirmed, within their shares), and who is over a share.

    Shares are counted over the whole admitted set, confirmed or not, so that a burst of objects
    created at once never holds more than the share at any moment. ``available``: the policy's
    bytes left beside foreign statements, or None to count objects only; ``shard``: whose
    statements the bytes are counted as.
    """
    ranked = _contenders(everyone, bucket)
    allotment = allot(bucket, [c for c, _ in ranked], available=available, shard=shard)
    confirmed = {c.claim.owner for c, verified in ranked if verified}
    return [c for c in allotment.kept if c.owner in confirmed], allotment.refused


def _key_allotted(key: str, everyone: list[Peer]) -> tuple[list[Claim], dict[str, Refused]]:
    """The claims to plan on ``key``: each within its share of its own bucket."""
    kept: list[Claim] = []
    refused: dict[str, Refused] = {}
    for bucket in sorted({p.spec.bucket for p in everyone if p.managed_key == key}):
        claims, over = _allotted(bucket, everyone)
        kept += [c for c in claims if c.kms_key_arn == key]
        refused |= over
    return kept, refused


def _share_refusal(own: Claim, everyone: list[Peer], reader: AwsReader, writes: WriteDeps) -> Refused | None:
    """Is this object over its namespace's share of its bucket, counted among ``everyone``?"""
    available = None
    if own.bucket_mode is BucketPolicyMode.Manage:
        cached = _cached_bucket_policy(reader, own.bucket)
        available = None if isinstance(cached, Unread) else available_bytes(cached, shard=writes.shard)
    return _allotted(own.bucket, everyone, available, writes.shard)[1].get(own.owner)


def _planned(peers: list[Peer], writes: WriteDeps) -> list[Peer]:
    """The objects to plan with: the object store's view, overridden by what passes of this
    process planned most recently; never a released (deleted) one.

    A pass writes its grant before its status reaches the store, where the object still looks
    unverified: planned from the store alone, a pass or sweep in that moment would revoke it.
    Callers take this inside the resource's lock, so every pass that wrote there is in it.
    """
    live = writes.planned()
    merged = [live.pop(p.uid, p) if p.uid else p for p in peers]
    merged += live.values()  # the callers keep those on their bucket or key
    return [p for p in merged if p.uid not in writes.released]


def _others(owner: str, peers: list[Peer], writes: WriteDeps) -> list[Peer]:
    """The objects to plan with beside ``owner``."""
    return [p for p in _planned(peers, writes) if p.owner != owner]


def _apply_all(
    own: Claim, me: Peer, peers: list[Peer], reader: AwsReader, writes: WriteDeps
) -> list[Applied] | Refused:
    """Plan against the shared cache first: in the steady state nothing is read fresh or written.

    Who is released is decided inside each lock: a cleanup marks its object released before it
    takes the lock, so a pass planned a moment earlier (even the object's own, still in flight
    when it was deleted) never puts a released principal back.
    """
    applied: list[Applied] = []
    if me.uid:
        writes.claims[me.uid] = me
    if own.bucket_mode is BucketPolicyMode.Manage:
        with writes.lock(f"bucket:{own.bucket}"):
            if me.uid in writes.released:
                return applied
            others = _others(me.owner, peers, writes)
            cached = _cached_bucket_policy(reader, own.bucket)
            available = None if isinstance(cached, Unread) else available_bytes(cached, shard=writes.shard)
            claims, refused = _allotted(own.bucket, [me, *others], available, writes.shard)
            if own.owner in refused:
                return refused[own.owner]
            done = apply_bucket_policy(own.bucket, claims, own, writes, cached)
            applied.append(done)
            if done.sid is not None and done.refusal is None and me.uid:
                writes.claims[me.uid] = replace(me, holds=True)  # in place now: first come, first served
    if own.kms_mode is not KMSKeyUsersMode.Observe and own.kms_key_arn:
        key = own.kms_key_arn
        with writes.lock(f"key:{key}"):
            if me.uid in writes.released:
                return applied
            others = _others(me.owner, peers, writes)
            claims, refused = _key_allotted(key, [me, *others])
            if own.owner in refused:
                return refused[own.owner]
            policy, grants = _cached_key(reader, key)
            if own.kms_mode is KMSKeyUsersMode.KeyPolicy:
                applied.append(apply_key_policy(key, claims, own, writes, policy))
            elif not own.bucket_key:
                applied.append(
                    Applied(
                        target=key,
                        refusal=Reason.GrantNeedsBucketKey,
                        detail=(
                            f"kmsKeyUsers: Grant needs the uploads to bucket {own.bucket} to use an S3 Bucket Key, so "
                            "that the grant can be limited to it (encryption context aws:s3:arn = the bucket); set "
                            "spec.upload.encryption.bucketKeyEnabled: true, or enable the Bucket Key in the bucket's "
                            "default encryption, or use KeyPolicy"
                        ),
                    )
                )
            else:
                applied.append(apply_grants(key, claims, own, writes, grants))
    return applied


def release(
    subject: Subject, managed: Managed, peers: list[Peer], writes: WriteDeps, uid: str = ""
) -> list[Applied]:
    """On deletion: remove this object's share of the managed statements and grants.

    The remaining claims are planned as usual, without this one. A bucket or key that no longer
    exists holds nothing to remove. AwsUnavailable escapes, so the finalizer retries.
    """
    if uid:
        writes.release(uid)  # before any lock: every write planned from now on leaves it out
    applied: list[Applied] = []
    bucket = managed.bucket or subject.spec.bucket
    if bucket and managed.bucket_policy_sid:
        with writes.lock(f"bucket:{bucket}"), contextlib.suppress(NotFound):
            # a deleted bucket holds nothing of ours any more
            claims = _allotted(bucket, _others(subject.owner, peers, writes))[0]
            applied.append(apply_bucket_policy(bucket, claims, None, writes))
    key = managed.kms_key_arn
    if key:
        with writes.lock(f"key:{key}"), contextlib.suppress(NotFound):
            # a deleted key holds nothing of ours any more
            claims = _key_allotted(key, _others(subject.owner, peers, writes))[0]
            if managed.key_policy_sid:
                applied.append(apply_key_policy(key, claims, None, writes))
            if managed.grant_ids:
                applied.append(apply_grants(key, claims, None, writes))
    return applied


def sweep(
    *, bucket: str | None = None, key: str | None = None, peers: list[Peer], writes: WriteDeps
) -> tuple[list[Applied], bool]:
    """Bring one bucket's (or key's) managed statements and grants to what its live, admitted
    objects want, with no object of its own: a principal nobody wants any more goes, whatever
    became of its object's finalizer. The objects are planned as a pass plans its peers (with
    what this process's passes planned since the store last heard of them), so a sweep never
    revokes a grant a pass has just written. Returns what was done, and whether anything of ours
    is still wanted there (when not, the caller drops it from its record).
    """
    applied: list[Applied] = []
    try:
        if bucket is not None:
            with writes.lock(f"bucket:{bucket}"):
                claims = _allotted(bucket, _planned(peers, writes))[0]
                applied.append(apply_bucket_policy(bucket, claims, None, writes))
            # a refused or failed write may have left ours in place: keep it on the record
            return applied, bool(bucket_statements(bucket, claims)) or any(a.refusal for a in applied)
        if key is not None:
            with writes.lock(f"key:{key}"):
                claims = _key_allotted(key, _planned(peers, writes))[0]
                applied.append(apply_key_policy(key, claims, None, writes))
                applied.append(apply_grants(key, claims, None, writes))
            wanted = bool(key_statements(key, claims) or key_grants(key, claims))
            return applied, wanted or any(a.refusal for a in applied)
    except NotFound:
        return applied, False  # the bucket or key is gone, and with it everything of ours
    return applied, False


def owners(bucket: str, peers: list[Peer], shard: Shard = DEFAULT_SHARD) -> dict[str, list[Peer]]:
    """Sid -> the objects whose grant that managed bucket-policy statement of ``shard`` holds
    (for Events)."""
    out: dict[str, list[Peer]] = {}
    by_owner = {p.owner: p for p in peers}
    claims = _allotted(bucket, peers)[0]
    statements = bucket_statements(bucket, claims, shard=shard)
    for c in claims:
        for needed in bucket_statements(bucket, [c]):
            for s in statements:
                if covers(s, needed):
                    out.setdefault(str(s["Sid"]), []).append(by_owner[c.owner])
    return out
