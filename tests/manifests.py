"""The one builder of BucketAccess and BucketAccessClass manifests for the e2e, fault and
benchmark code: keywords for what a test cares about, the rest left to the CRD's defaults."""

from __future__ import annotations

from typing import Any

from bucketaccess.resources import API_VERSION

ANY_ROLE = "arn:aws:iam::*:role/*"


def bucket_access(
    name: str,
    namespace: str,
    *,
    cls: str,
    bucket: str,
    role: str | None = None,
    service_account: str | None = None,
    prefix: str | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A BucketAccess; ``role`` is an ARN (or give ``service_account``); extra keywords go into spec."""
    body: dict[str, Any] = {"className": cls, "bucket": bucket}
    if prefix is not None:
        body["prefix"] = prefix
    if role is not None:
        body["role"] = {"arn": role}
    if service_account is not None:
        body["role"] = {"serviceAccountName": service_account}
    return {
        "apiVersion": API_VERSION,
        "kind": "BucketAccess",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {**body, **spec},
    }


def access_class(
    name: str,
    *,
    namespace_labels: dict[str, str],
    buckets: tuple[str, ...] = ("*",),
    roles: tuple[str, ...] = (ANY_ROLE,),
    bucket_policy: str | None = None,
    kms_key_users: str | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A BucketAccessClass admitting namespaces with these labels; modes left out mean Observe."""
    reconcile = {
        k: v for k, v in (("bucketPolicy", bucket_policy), ("kmsKeyUsers", kms_key_users)) if v is not None
    }
    body: dict[str, Any] = {
        "namespaceSelector": {"matchLabels": namespace_labels},
        "buckets": list(buckets),
        "roles": list(roles),
        **spec,
    }
    if reconcile:
        body["reconcile"] = reconcile
    return {"apiVersion": API_VERSION, "kind": "BucketAccessClass", "metadata": {"name": name}, "spec": body}
