"""Raw BucketAccess bodies from the object store, as a pass sees them: the object it verifies
(:class:`Subject`) and the others on the same bucket or key (:class:`Peer`).

What an object's own last pass found (verified, its role missing, what it holds) comes from its
parsed status, :class:`~bucketaccess.resources.ObservedStatus`; nothing here reads conditions.
"""

from __future__ import annotations

from ..reconcile import Peer, Subject
from ..resources import BucketAccessSpec, ClassSpec, ObservedStatus, RawBody
from .kube import get_object
from .runtime import Runtime


def observed_status(body: RawBody) -> ObservedStatus:
    return ObservedStatus.parse(body.get("status"), body["metadata"].get("generation"))


def _class(rt: Runtime, name: str) -> ClassSpec | None:
    raw = rt.class_spec_raw(name)
    return ClassSpec.parse(raw) if raw is not None else None


def subject(body: RawBody, rt: Runtime | None) -> Subject:
    """The object a pass verifies (``rt`` None: without its class and namespace, for a cleanup)."""
    meta = body["metadata"]
    spec = BucketAccessSpec.parse(body.get("spec") or {})
    return Subject(
        namespace=meta["namespace"],
        name=meta["name"],
        spec=spec,
        class_spec=_class(rt, spec.class_name) if rt else None,
        namespace_labels=rt.namespace_labels(meta["namespace"]) if rt else None,
        uid=meta.get("uid", ""),
        created=str(meta.get("creationTimestamp") or ""),
        holds=observed_status(body).holds,
    )


def _confirmed(rt: Runtime, body: RawBody) -> RawBody | None:
    """The object as the API server has it now, or None (and out of the store) if it is gone.

    For objects the start-up listing found but no watch event has confirmed yet: one deleted
    between the listing and the watch would otherwise stay in the store, and its principal in
    the managed statements, until the next restart.
    """
    meta = body["metadata"]
    live = get_object(rt.api, meta["namespace"], meta["name"])
    if live is None or live.get("metadata", {}).get("uid") != meta["uid"]:
        rt.store.pop(meta["uid"])
        rt.writes.forget(meta["uid"])  # and no sweep or pass plans it from a claim of this process
        return None
    rt.store.put(live)
    return live


def _peer(body: RawBody, rt: Runtime) -> Peer:
    own = subject(body, rt)
    status = observed_status(body)
    return Peer(
        namespace=own.namespace,
        name=own.name,
        spec=own.spec,
        role_arn=own.spec.role_arn or status.role_arn,
        class_spec=own.class_spec,
        namespace_labels=own.namespace_labels,
        managed_key=status.managed.kms_key_arn,
        # a peer holds a grant only if its own pass found its bucket uses a Bucket Key
        bucket_key=status.uses_bucket_key,
        verified=status.verified,
        holds=status.holds,
        role_missing=status.role_missing,
        uid=own.uid,
        created=own.created,
    )


def peers(rt: Runtime, bucket: str | None, key: str | None) -> list[Peer]:
    """The live objects on ``bucket`` or ``key`` (one not yet confirmed by a watch is read again)."""
    out = []
    for found in rt.store.on_bucket_or_key(bucket, key):
        body = found if rt.tracking.watched(found["metadata"]["uid"]) else _confirmed(rt, found)
        if body is None or body["metadata"].get("deletionTimestamp"):
            continue
        out.append(_peer(body, rt))
    return out
