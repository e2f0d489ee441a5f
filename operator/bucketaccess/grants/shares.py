"""Fair shares of a shared bucket policy: how many objects, and how many of the policy's bytes,
one namespace's grants may hold. A pure function of the whole admitted set, in rank order.

Rank is first come, first served: objects whose grant is in place first, then by creation. Walking
the set in that order, an object is kept while its namespace is within

- its class's ``limits.objectsPerNamespacePerBucket`` (objects of the namespace kept before it), and
- its namespace's byte share: the bytes the policy has left beside statements this shard does
  not own, divided equally among the namespaces asking for this bucket (or the class's
  ``limits.bucketPolicyBytesPerNamespace``, when smaller). A namespace's bytes are what its own
  kept claims would take packed on their own; packing across namespaces only saves, so the sum
  of every namespace's share always fits.

Across shards (operator processes that each watch their own namespaces): another shard's
statements are foreign bytes here, counted like any statement the operator does not own, so no
share ever counts on bytes another shard holds. The namespaces of another shard cannot be seen:
a shard divides what the others leave among its own namespaces, and the shards among themselves
are first come, first served. A class's ``limits.bucketPolicyBytesPerNamespace`` holds whatever
the shards: a namespace is watched by one shard.

An object whose grant is already in place is never refused for bytes (the share shrinks when a
namespace joins; grants that were fair when written are not revoked to make room), only its
namespace's new ones are. The object count is a hard rule: a class narrowed takes effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..resources import BucketPolicyMode
from ..vocabulary import Reason
from .merge import BUCKET_POLICY_LIMIT, dumps, merge
from .plan import Claim, bucket_statements, policy_bytes
from .shard import DEFAULT_SHARD, Shard


@dataclass(frozen=True, slots=True, kw_only=True)
class Contender:
    """One object asking for a grant on the bucket, as the allotment sees it."""

    claim: Claim
    held: bool = False  # its grant is in place now
    object_limit: int | None = None  # its class's limits.objectsPerNamespacePerBucket
    byte_limit: int | None = None  # its class's limits.bucketPolicyBytesPerNamespace


@dataclass(frozen=True, slots=True)
class Refused:
    reason: Reason
    message: str


@dataclass(frozen=True, slots=True)
class Allotment:
    kept: tuple[Claim, ...]  # in rank order
    refused: dict[str, Refused]  # owner -> why


def allot(
    bucket: str, contenders: Sequence[Contender], *, available: int | None, shard: Shard = DEFAULT_SHARD
) -> Allotment:
    """``contenders`` in rank order; ``available``: the policy bytes left beside statements this
    shard does not own (other shards' included), or None to count objects only (a key policy, a removal).
    Bytes are counted as ``shard`` writes its statements (a shard's Sids carry its tag)."""
    namespaces = {c.claim.namespace for c in contenders if c.claim.bucket_mode is BucketPolicyMode.Manage}
    fair = None if available is None else max(0, available) // max(1, len(namespaces))
    kept: list[Claim] = []
    refused: dict[str, Refused] = {}
    by_namespace: dict[str, list[Claim]] = {}
    bound: dict[str, int] = {}  # an upper bound of each namespace's bytes (the sum of its claims alone)
    for c in contenders:
        ns, claim = c.claim.namespace, c.claim
        mine = by_namespace.setdefault(ns, [])
        if c.object_limit is not None and len(mine) >= c.object_limit:
            refused[claim.owner] = Refused(
                Reason.NamespaceShareExceeded,
                f"namespace {ns} already has {c.object_limit} admitted object(s) on bucket {bucket}, "
                "its class's limit (objectsPerNamespacePerBucket); the earliest keep their grants",
            )
            continue
        if fair is not None and available is not None:
            share = fair if c.byte_limit is None else min(fair, c.byte_limit)
            alone = policy_bytes(bucket_statements(bucket, [claim], shard=shard))
            # (a namespace alone, with no cap of its class, may use all there is: what does not fit
            # then is the size guard's to say, PolicySizeLimit; a grant in place is never cut back)
            if share < available and not c.held and bound.get(ns, 0) + alone > share:
                # near the share: the exact packed size of the namespace's grants with this one
                cost = policy_bytes(bucket_statements(bucket, [*mine, claim], shard=shard))
                if cost > share:
                    message = _share_message(ns, bucket, cost, share, fair, len(namespaces), available)
                    refused[claim.owner] = Refused(Reason.PolicyShareExceeded, message)
                    continue
            bound[ns] = bound.get(ns, 0) + alone
        mine.append(claim)
        kept.append(claim)
    return Allotment(tuple(kept), refused)


def _share_message(
    ns: str, bucket: str, cost: int, share: int, fair: int, namespaces: int, available: int
) -> str:
    why = (
        "its class's limit (limits.bucketPolicyBytesPerNamespace)"
        if share < fair
        else f"its fair share: {available:,} bytes left beside statements this operator does not own, "
        f"divided among {namespaces} namespace(s) asking for this bucket"
    )
    return (
        f"namespace {ns}'s grants on bucket {bucket} would take {cost:,} bytes of the bucket policy with "
        f"this one, over {share:,} bytes, {why}; grants already in place keep theirs"
    )


def available_bytes(
    live_text: str | None, limit: int = BUCKET_POLICY_LIMIT, *, shard: Shard = DEFAULT_SHARD
) -> int | None:
    """The bytes a policy has left for the shard's managed statements beside every statement it
    does not own (other shards' included); None when the policy cannot be read (the write
    refuses it anyway)."""
    foreign = merge(live_text, [], shard.bucket_sids, limit=limit)
    if foreign.refusal is not None:
        return None
    envelope = foreign.document or {"Version": "2012-10-17", "Statement": []}
    return limit - len(dumps(envelope).encode())
